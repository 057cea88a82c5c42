package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Lane operations whose results the Vector API leaves to the implementation, redone here from lane-wise IEEE
 * arithmetic (add, mul, fma, min, max, integer and bit operations), which every JIT tier computes exactly alike.
 *
 * <p>Why: {@code reduceLanes(ADD)} adds the lanes in whatever order the running tier picks (the interpreter and C2
 * differ), and {@code lanewise(EXP)} runs an intrinsic in compiled code but {@code Math.exp} per lane otherwise, so
 * the same call gave different bits before and after warm-up.
 *
 * <p>The lane sum is a fixed halving tree: lane j plus lane j+L/2 for j below L/2, then the same at distance L/4,
 * and so on down to 1 (L = {@link Widen#LANES}). {@link #sum(FloatVector)} and {@link #sums} give bit-identical
 * results for the same vector: they add the same pairs at every level, at most with the two operands swapped, and
 * IEEE addition is commutative.
 */
final class Lanes {
    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());
    /** Indexed by a power of two d below the lane count: exchanges lanes j and j^d. */
    private static final VectorShuffle<Float>[] SWAP = swaps(F);
    private static final VectorShuffle<Double>[] SWAP_D = swaps(D);
    /** Indexed by a power of two d below the lane count: the lanes j with bit d set. */
    private static final VectorMask<Float>[] UPPER = uppers();

    // exp(x) = 2^n * e^r with n = rint(x / ln 2) and |r| <= ln 2 / 2; e^r by the Cephes expf polynomial (~1 ulp).
    private static final float LOG2E = 1.44269504f;
    /** ln 2 split so that n * LN2_HI is exact for every n in range. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float to the nearest integer, which then sits in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    /** Below this e^x rounds to zero, above the other it overflows: clamping keeps n within two f32 exponents. */
    private static final float EXP_MIN = -104f;
    private static final float EXP_MAX = 89f;

    private Lanes() {}

    /** The sum of all lanes, by the fixed tree. */
    static float sum(FloatVector v) {
        for (int d = LANES / 2; d > 0; d >>= 1) {
            v = v.add(v.rearrange(SWAP[d]));
        }
        return v.lane(0);
    }

    /** The sum of all lanes of a double vector (half as many lanes), by the same kind of tree. */
    static double sum(DoubleVector v) {
        for (int d = D.length() / 2; d > 0; d >>= 1) {
            v = v.add(v.rearrange(SWAP_D[d]));
        }
        return v.lane(0);
    }

    /** The largest lane (NaN if any lane is NaN; +0 above -0), by the fixed tree. */
    static float max(FloatVector v) {
        for (int d = LANES / 2; d > 0; d >>= 1) {
            v = v.max(v.rearrange(SWAP[d]));
        }
        return v.lane(0);
    }

    /**
     * One level of the tree for two vectors at once, at distance d ({@code upper = UPPER[d]}, {@code swap =
     * SWAP[d]}): lanes j with bit d clear get {@code a[j] + a[j+d]}, the others {@code b[j-d] + b[j]}. Folding L
     * vectors pairwise level by level leaves all their sums in one vector for about one fold per vector, instead of
     * a whole tree each.
     */
    private static FloatVector fold(FloatVector a, FloatVector b, VectorMask<Float> upper, VectorShuffle<Float> swap) {
        return a.blend(b, upper).add(b.blend(a, upper).rearrange(swap));
    }

    /**
     * Lane sums of many vectors at once: {@code p} holds {@code count} vectors of {@link Widen#LANES} partial sums,
     * vector j at {@code p[j*LANES ...]}; afterwards {@code p[j]} is the sum of vector j, bit-identical to
     * {@link #sum(FloatVector)} of it. The rest of p is overwritten.
     *
     * <p>Each group of LANES vectors is reduced together: at distance d, vectors m and m+d are {@link #fold}ed into
     * one, until one vector holds the group's sums. The folds of a level are independent across all groups, so they
     * overlap. (Kept out of the kernels, in loops of their own: unrolled into a kernel, these operations would push
     * its other vector operations past what the JIT inlines.)
     */
    static void sums(float[] p, int count) {
        int full = count / LANES;
        foldFullGroups(p, full);
        if (count % LANES != 0) {
            foldPartialGroup(p, full * LANES * LANES, count % LANES);
        }
        // Group g's sums go to p[g*LANES ...]: below every later group's vectors, over vectors already reduced.
        for (int g = 1; g * LANES < count; g++) {
            System.arraycopy(p, g * LANES * LANES, p, g * LANES, Math.min(LANES, count - g * LANES));
        }
    }

    /** The first {@code groups} groups, all LANES vectors each: two levels per pass, so half the loads and stores. */
    private static void foldFullGroups(float[] p, int groups) {
        int d = LANES / 2;
        for (; d >= 2; d >>= 2) {
            VectorMask<Float> upper = UPPER[d];
            VectorShuffle<Float> swap = SWAP[d];
            VectorMask<Float> upperHalf = UPPER[d / 2];
            VectorShuffle<Float> swapHalf = SWAP[d / 2];
            for (int at = 0; at < groups * LANES * LANES; at += LANES * LANES) {
                for (int m = at; m < at + d / 2 * LANES; m += LANES) {
                    FloatVector low = fold(FloatVector.fromArray(F, p, m),
                            FloatVector.fromArray(F, p, m + d * LANES), upper, swap);
                    FloatVector high = fold(FloatVector.fromArray(F, p, m + d / 2 * LANES),
                            FloatVector.fromArray(F, p, m + (d + d / 2) * LANES), upper, swap);
                    fold(low, high, upperHalf, swapHalf).intoArray(p, m);
                }
            }
        }
        if (d == 1) {
            for (int at = 0; at < groups * LANES * LANES; at += LANES * LANES) {
                fold(FloatVector.fromArray(F, p, at), FloatVector.fromArray(F, p, at + LANES), UPPER[1], SWAP[1])
                        .intoArray(p, at);
            }
        }
    }

    /**
     * A group of {@code live} < LANES vectors from {@code p[at]}: a vector without a partner folds onto itself,
     * and the duplicates that leaves end up only in the lanes of vectors that do not exist.
     */
    private static void foldPartialGroup(float[] p, int at, int live) {
        for (int d = LANES / 2; d > 0; d >>= 1) {
            live = Math.min(2 * d, live);
            for (int m = 0; m < Math.min(d, live); m++) {
                FloatVector a = FloatVector.fromArray(F, p, at + m * LANES);
                FloatVector folded = m + d < live
                        ? fold(a, FloatVector.fromArray(F, p, at + (m + d) * LANES), UPPER[d], SWAP[d])
                        : a.add(a.rearrange(SWAP[d]));
                folded.intoArray(p, at + m * LANES);
            }
        }
    }

    /**
     * e^x in every lane, within about 1 ulp of {@link Math#exp}; 0 below about -103.9, +Inf above about 88.7, NaN
     * for NaN. Results below the smallest normal f32 are rounded once more (a subnormal ulp).
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector shifted = x.fma(LOG2E, ROUNDER);
        FloatVector n = shifted.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_LO), n.fma(FloatVector.broadcast(F, -LN2_HI), x));
        FloatVector poly = r.fma(1.9875691500e-4f, 1.3981999507e-3f)
                .fma(r, FloatVector.broadcast(F, 8.3334519073e-3f))
                .fma(r, FloatVector.broadcast(F, 4.1665795894e-2f))
                .fma(r, FloatVector.broadcast(F, 1.6666665459e-1f))
                .fma(r, FloatVector.broadcast(F, 5.0000001201e-1f));
        FloatVector er = poly.fma(r.mul(r), r).add(1f);
        // 2^n as two powers of two, so that n from -150 to 128 (subnormal results and overflow) needs no branch.
        IntVector ni = shifted.reinterpretAsInts().sub(ROUNDER_BITS);
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector scale1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector scale2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return er.mul(scale1).mul(scale2);
    }

    @SuppressWarnings("unchecked")
    private static <E> VectorShuffle<E>[] swaps(VectorSpecies<E> species) {
        VectorShuffle<E>[] swaps = new VectorShuffle[species.length()];
        for (int d = 1; d < species.length(); d <<= 1) {
            int distance = d;
            swaps[d] = VectorShuffle.fromOp(species, j -> j ^ distance);
        }
        return swaps;
    }

    @SuppressWarnings("unchecked")
    private static VectorMask<Float>[] uppers() {
        VectorMask<Float>[] uppers = new VectorMask[LANES];
        for (int d = 1; d < LANES; d <<= 1) {
            boolean[] bits = new boolean[LANES];
            for (int j = 0; j < LANES; j++) {
                bits[j] = (j & d) != 0;
            }
            uppers[d] = VectorMask.fromArray(F, bits, 0);
        }
        return uppers;
    }
}
