package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import dev.afd.model.step3.MlpWeights;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** The SiLU-gated MLP shared by dense layers, the shared expert and every routed expert. */
public final class Mlp {
    private Mlp() {}

    /**
     * {@code out = down(silu(gate x) * (up x))} for {@code rows} rows: x holds rows*H floats, out gets rows*H
     * (overwritten). The two intermediate buffers (rows*I floats each) are allocated per call.
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

    /** {@code g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i]} over [from, to). */
    static void siluTimes(float[] g, float[] u, int from, int to) {
        int i = from;
        for (; i + LANES <= to; i += LANES) {
            FloatVector gv = FloatVector.fromArray(F, g, i);
            FloatVector denominator = gv.neg().lanewise(VectorOperators.EXP).add(1f);
            gv.div(denominator).mul(FloatVector.fromArray(F, u, i)).intoArray(g, i);
        }
        for (; i < to; i++) {
            g[i] = (float) (g[i] / (1 + Math.exp(-g[i]))) * u[i];
        }
    }
}
