package dev.afd.model.kernels;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Halfs;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Loads stored weights (little-endian) as f32 vectors of the preferred species. Every kernel works in f32 lanes;
 * 16-bit weights are widened right after the load, so memory traffic stays at the stored size.
 *
 * <p>JIT note: a Vector API operation inlines a deep tree of library code, and a kernel that inlines too many of
 * them silently falls back to boxed vectors (10-1000x slower). So the hot kernels load only BF16 and F32 through
 * {@link #load}, one short path each, and F16 (about fifteen operations to widen lane-wise, and not a format Step-3
 * ships in) is only widened in bulk by {@link #toFloats}, in a loop of its own.
 */
final class Widen {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Half as wide as {@link #F}: one load gives exactly {@link #LANES} 16-bit values. */
    private static final VectorSpecies<Short> H =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Widen() {}

    /** Whether {@link #load} reads this type; F16 has to go through {@link #toFloats}. */
    static boolean loadable(DType t) {
        return t != DType.F16;
    }

    /**
     * {@link #LANES} consecutive BF16 or F32 elements starting at {@code byteOffset}. The dtype test is
     * loop-invariant in every caller, so the JIT unswitches it out of the hot loops.
     */
    static FloatVector load(DType t, MemorySegment seg, long byteOffset) {
        return t == DType.BF16 ? bf16(seg, byteOffset) : FloatVector.fromMemorySegment(F, seg, byteOffset, LE);
    }

    /** bf16 is the high half of an f32: shift the 16 stored bits up. */
    private static FloatVector bf16(MemorySegment seg, long byteOffset) {
        return halves(seg, byteOffset).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * Moves the 5-bit exponent and 10-bit mantissa into f32 position and rebiases by multiplying with 2^112, which
     * is exact and also turns f16 subnormals into the right normal f32 values. Inf and NaN (magnitude ≥ 0x7C00)
     * then get the all-ones f32 exponent, keeping the NaN payload and, like {@link Float#float16ToFloat}, setting
     * the quiet bit of NaNs. Integer arithmetic stands in for compare-and-blend, which the JIT did not intrinsify.
     */
    private static FloatVector f16(MemorySegment seg, long byteOffset) {
        IntVector h = halves(seg, byteOffset);
        IntVector magnitude = h.and(0x7FFF);
        IntVector finite = magnitude.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                .reinterpretAsInts();
        // magnitude + 0x400 reaches bit 15 exactly for Inf/NaN: all ones there, zero otherwise.
        IntVector infOrNan = magnitude.add(0x0400).lanewise(VectorOperators.LSHL, 16)
                .lanewise(VectorOperators.ASHR, 31).and(0x7F800000);
        // 0x7C00 - magnitude is negative exactly for NaN: its sign bit becomes the quiet bit.
        IntVector quiet = IntVector.broadcast(I, 0x7C00).sub(magnitude).lanewise(VectorOperators.LSHR, 31)
                .lanewise(VectorOperators.LSHL, 22);
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        return finite.or(infOrNan).or(quiet).or(sign).reinterpretAsFloats();
    }

    private static IntVector halves(MemorySegment seg, long byteOffset) {
        return (IntVector) ShortVector.fromMemorySegment(H, seg, byteOffset, LE)
                .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
    }

    /** One element of any type, for the scalar tails of the vector loops. */
    static float get(DType t, MemorySegment seg, long byteOffset) {
        return switch (t) {
            case BF16 -> Halfs.bf16ToFloat(seg.get(Tensor.SHORT_LE, byteOffset));
            case F16 -> Halfs.f16ToFloat(seg.get(Tensor.SHORT_LE, byteOffset));
            case F32 -> seg.get(Tensor.FLOAT_LE, byteOffset);
        };
    }

    /** Widens {@code count} elements of any type starting at {@code byteOffset} into {@code dst[dstOff...]}. */
    static void toFloats(DType t, MemorySegment seg, long byteOffset, float[] dst, int dstOff, int count) {
        int bound = F.loopBound(count);
        // One loop method per type, so that no compiled loop holds more than one conversion.
        switch (t) {
            case BF16 -> bf16ToFloats(seg, byteOffset, dst, dstOff, bound);
            case F16 -> f16ToFloats(seg, byteOffset, dst, dstOff, bound);
            case F32 -> f32ToFloats(seg, byteOffset, dst, dstOff, bound);
        }
        for (int i = bound; i < count; i++) {
            dst[dstOff + i] = get(t, seg, byteOffset + (long) i * t.byteSize());
        }
    }

    private static void bf16ToFloats(MemorySegment seg, long byteOffset, float[] dst, int dstOff, int count) {
        for (int i = 0; i < count; i += LANES) {
            bf16(seg, byteOffset + 2L * i).intoArray(dst, dstOff + i);
        }
    }

    private static void f16ToFloats(MemorySegment seg, long byteOffset, float[] dst, int dstOff, int count) {
        for (int i = 0; i < count; i += LANES) {
            f16(seg, byteOffset + 2L * i).intoArray(dst, dstOff + i);
        }
    }

    private static void f32ToFloats(MemorySegment seg, long byteOffset, float[] dst, int dstOff, int count) {
        for (int i = 0; i < count; i += LANES) {
            FloatVector.fromMemorySegment(F, seg, byteOffset + 4L * i, LE).intoArray(dst, dstOff + i);
        }
    }
}
