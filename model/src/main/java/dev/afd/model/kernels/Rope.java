package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Rotary position embedding with the neox "rotate-half" pairing over the leading {@code rotaryDim} dimensions of each
 * head: dimension d pairs with d + rotaryDim/2, and the dimensions past rotaryDim pass through (partial rotary, as
 * Step-3.5 uses; Step-3 rotates every dimension). {@code inv_freq[j] = theta^(-2j/rotaryDim)}, optionally rescaled by
 * {@link Llama3Scaling}, {@code angle = pos * inv_freq[j]}, both in double;
 * cos and sin are rounded to f32 once and cached per position. {@link StrictMath} makes the table the same bits on
 * every machine and JIT tier ({@link Math} may use faster, platform-specific code).
 *
 * <p>Threading: any number of threads may call {@link #apply} at once. The cos/sin table only grows: a new, larger
 * table is built under the lock and published through a volatile field, so readers never see a partial table.
 */
public final class Rope {
    private final int headDim;
    /** Half of the rotated dimensions. */
    private final int half;
    private final double[] inverseFrequency;
    private volatile Table table;

    /** cos and sin of every angle for positions [0, positions): entry {@code pos*half + j}. */
    private record Table(int positions, float[] cos, float[] sin) {}

    /** Every dimension rotates, no scaling. */
    public Rope(int headDim, double theta) {
        this(headDim, headDim, theta, null);
    }

    /**
     * @param rotaryDim the leading dimensions of each head that rotate (even, at most headDim)
     * @param scaling llama3 frequency scaling, or null for none
     */
    public Rope(int headDim, int rotaryDim, double theta, Llama3Scaling scaling) {
        if (headDim <= 0 || rotaryDim <= 0 || rotaryDim % 2 != 0 || rotaryDim > headDim) {
            throw new IllegalArgumentException("RoPE needs a positive, even rotary width of at most head_dim "
                    + headDim + ", got " + rotaryDim);
        }
        if (!(theta > 0)) {
            throw new IllegalArgumentException("rope_theta must be positive, got " + theta);
        }
        this.headDim = headDim;
        this.half = rotaryDim / 2;
        this.inverseFrequency = new double[half];
        for (int j = 0; j < half; j++) {
            double f = StrictMath.pow(theta, -2.0 * j / rotaryDim);
            inverseFrequency[j] = scaling == null ? f : scaling.scale(f);
        }
        this.table = new Table(0, new float[0], new float[0]);
    }

    /**
     * Rotates {@code heads} consecutive heads of width headDim starting at x[off], at position pos:
     * {@code out[j] = x[j] cos - x[j+half] sin ; out[j+half] = x[j+half] cos + x[j] sin} for j < rotaryDim/2.
     */
    public void apply(float[] x, int off, int heads, int pos) {
        if (pos < 0 || pos >= Integer.MAX_VALUE / half) {
            throw new IllegalArgumentException("position must be in [0, " + Integer.MAX_VALUE / half + "), got " + pos);
        }
        if (off < 0 || heads < 0 || off > x.length - (long) heads * headDim) {
            throw new IndexOutOfBoundsException(heads + " heads of " + headDim + " at offset " + off
                    + " do not fit an array of " + x.length);
        }
        Table t = table;
        if (pos >= t.positions) {
            t = grow(pos);
        }
        int at = pos * half;
        for (int h = 0; h < heads; h++) {
            rotate(x, off + h * headDim, t.cos, t.sin, at);
        }
    }

    private void rotate(float[] x, int lo, float[] cos, float[] sin, int at) {
        int hi = lo + half;
        int bound = F.loopBound(half);
        int j = 0;
        for (; j < bound; j += LANES) {
            FloatVector a = FloatVector.fromArray(F, x, lo + j);
            FloatVector b = FloatVector.fromArray(F, x, hi + j);
            FloatVector c = FloatVector.fromArray(F, cos, at + j);
            FloatVector s = FloatVector.fromArray(F, sin, at + j);
            a.mul(c).sub(b.mul(s)).intoArray(x, lo + j);
            b.mul(c).add(a.mul(s)).intoArray(x, hi + j);
        }
        for (; j < half; j++) {
            float a = x[lo + j];
            float b = x[hi + j];
            float c = cos[at + j];
            float s = sin[at + j];
            x[lo + j] = a * c - b * s;
            x[hi + j] = b * c + a * s;
        }
    }

    private synchronized Table grow(int pos) {
        Table old = table;
        if (pos < old.positions) {
            return old;
        }
        int positions = (int) Math.min(Integer.MAX_VALUE / half, Math.max(pos + 1L, Math.max(64, 2L * old.positions)));
        float[] cos = Arrays.copyOf(old.cos, positions * half);
        float[] sin = Arrays.copyOf(old.sin, positions * half);
        for (int p = old.positions; p < positions; p++) {
            for (int j = 0; j < half; j++) {
                double angle = p * inverseFrequency[j];
                cos[p * half + j] = (float) StrictMath.cos(angle);
                sin[p * half + j] = (float) StrictMath.sin(angle);
            }
        }
        Table grown = new Table(positions, cos, sin);
        table = grown;
        return grown;
    }

    /**
     * Llama 3's frequency rescaling ({@code rope_scaling} with {@code rope_type: llama3}): wavelengths shorter than
     * {@code originalMaxPositions / highFreqFactor} keep their frequency, longer than
     * {@code originalMaxPositions / lowFreqFactor} are divided by {@code factor}, and those between blend the two.
     */
    public record Llama3Scaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        public Llama3Scaling {
            if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPositions < 1) {
                throw new IllegalArgumentException("llama3 rope_scaling needs factor > 0, 0 < low_freq_factor <"
                        + " high_freq_factor and original_max_position_embeddings >= 1; got factor " + factor
                        + ", low " + lowFreqFactor + ", high " + highFreqFactor + ", original "
                        + originalMaxPositions);
            }
        }

        double scale(double frequency) {
            double wavelength = 2 * Math.PI / frequency;
            double lowWavelength = originalMaxPositions / lowFreqFactor;
            double highWavelength = originalMaxPositions / highFreqFactor;
            if (wavelength < highWavelength) {
                return frequency;
            }
            if (wavelength > lowWavelength) {
                return frequency / factor;
            }
            double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            return (1 - smooth) * frequency / factor + smooth * frequency;
        }
    }
}
