package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import dev.afd.model.step3.MlpWeights;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/** The SiLU-gated MLP shared by dense layers, the shared expert and every routed expert. */
public final class Mlp {
    private Mlp() {}

    /**
     * {@code out = down(silu(gate x) * (up x))} for {@code rows} rows: x holds rows*H floats, out gets rows*H
     * (overwritten). The two intermediate buffers (rows*I floats each) are allocated per call. Batch invariant: a
     * row's result is the same bits whatever other rows share the call.
     */
    public static void forward(MlpWeights w, float[] x, int rows, float[] out) {
        int hidden = w.hidden();
        int inter = w.intermediate();
        if (w.up().rows() != inter || w.up().cols() != hidden || w.down().rows() != hidden
                || w.down().cols() != inter) {
            throw new IllegalArgumentException("MLP weights do not fit together: gate " + w.gate() + ", up " + w.up()
                    + ", down " + w.down());
        }
        float[] gate = new float[rows * inter];
        float[] up = new float[rows * inter];
        MatMul.matmul(w.gate(), x, rows, gate);
        MatMul.matmul(w.up(), x, rows, up);
        Parallel.forRange(rows * inter, 16_384, (from, to) -> siluTimes(gate, up, from, to));
        MatMul.matmul(w.down(), gate, rows, out);
    }

    /**
     * {@code g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i]} over [from, to). Every element takes the
     * same lane-wise operations (the last vector is masked), so the result does not depend on how [0, rows*I) was
     * cut into ranges, nor on the JIT tier ({@link Lanes#exp}).
     */
    static void siluTimes(float[] g, float[] u, int from, int to) {
        for (int i = from; i < to; i += LANES) {
            VectorMask<Float> in = F.indexInRange(i, to);
            FloatVector gv = FloatVector.fromArray(F, g, i, in);
            FloatVector denominator = Lanes.exp(gv.neg()).add(1f);
            gv.div(denominator).mul(FloatVector.fromArray(F, u, i, in)).intoArray(g, i, in);
        }
    }
}
