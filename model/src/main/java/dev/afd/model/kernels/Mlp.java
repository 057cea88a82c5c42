package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/** The SiLU-gated MLP shared by dense layers, the shared expert and every routed expert. */
public final class Mlp {
    private Mlp() {}

    /** One MLP evaluation: {@code out = down(silu(gate x) * (up x))} over {@code rows} rows. */
    public record Call(MlpWeights w, float[] x, int rows, float[] out) {}

    /**
     * {@code out = down(silu(gate x) * (up x))} for {@code rows} rows: x holds rows*H floats, out gets rows*H
     * (overwritten). The two intermediate buffers (rows*I floats each) are allocated per call. Batch invariant: a
     * row's result is the same bits whatever other rows share the call.
     */
    public static void forward(MlpWeights w, float[] x, int rows, float[] out) {
        forward(List.of(new Call(w, x, rows, out)));
    }

    /**
     * Several MLPs (a decode step's few routed experts, each over its own rows), each exactly as by itself, with
     * every gate and up projection in one joined matmul and every down projection in another: two dispatches in all
     * instead of three per MLP.
     */
    public static void forward(List<Call> calls) {
        List<MatMul.Product> gateUp = new ArrayList<>();
        List<MatMul.Product> down = new ArrayList<>();
        List<float[]> gates = new ArrayList<>();
        List<float[]> ups = new ArrayList<>();
        for (Call c : calls) {
            MlpWeights w = c.w();
            int inter = w.intermediate();
            if (w.up().rows() != inter || w.up().cols() != w.hidden() || w.down().rows() != w.hidden()
                    || w.down().cols() != inter) {
                throw new IllegalArgumentException("MLP weights do not fit together: gate " + w.gate() + ", up "
                        + w.up() + ", down " + w.down());
            }
            float[] gate = new float[c.rows() * inter];
            float[] up = new float[c.rows() * inter];
            gateUp.add(new MatMul.Product(w.gate(), c.x(), c.rows(), gate));
            gateUp.add(new MatMul.Product(w.up(), c.x(), c.rows(), up));
            down.add(new MatMul.Product(w.down(), gate, c.rows(), c.out()));
            gates.add(gate);
            ups.add(up);
        }
        MatMul.matmuls(gateUp);
        for (int i = 0; i < calls.size(); i++) {
            float[] gate = gates.get(i);
            float[] up = ups.get(i);
            float limit = calls.get(i).w().limit();
            Parallel.forRange(gate.length, 16_384, (from, to) -> siluTimes(gate, up, limit, from, to));
        }
        MatMul.matmuls(down);
    }

    /**
     * {@code g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i]} over [from, to); with {@code limit > 0},
     * {@code min(silu(g[i]), limit) * clamp(u[i], -limit, limit)}. Every element takes the same lane-wise operations
     * (the last vector is masked), so the result does not depend on how [0, rows*I) was cut into ranges, nor on the
     * JIT tier ({@link Lanes#exp}).
     */
    static void siluTimes(float[] g, float[] u, float limit, int from, int to) {
        for (int i = from; i < to; i += LANES) {
            VectorMask<Float> in = F.indexInRange(i, to);
            FloatVector gv = FloatVector.fromArray(F, g, i, in);
            FloatVector uv = FloatVector.fromArray(F, u, i, in);
            FloatVector silu = gv.div(Lanes.exp(gv.neg()).add(1f));
            if (limit > 0) {
                silu = silu.min(limit);
                uv = uv.max(-limit).min(limit);
            }
            silu.mul(uv).intoArray(g, i, in);
        }
    }
}
