package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;

import dev.afd.model.ffn.Routing;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/** Routed experts for a batch of rows: each chosen expert runs once over all the rows that picked it. */
public final class MoeDispatch {
    /** Active experts per kernel thread from which threads take whole experts rather than splitting each matmul. */
    private static final int EXPERTS_PER_THREAD = 4;
    /**
     * Calls so far: every other call walks its experts backwards. Two micro-batches of one layer come one after the
     * other, and the second then starts with the experts the first read last, some of them still in cache (measured
     * 15% faster for that pass). Results do not depend on the order.
     */
    private static final AtomicLong CALLS = new AtomicLong();

    private MoeDispatch() {}

    /**
     * Each row r of the routing chose k experts: {@code experts[r*k+j]} (an id < 0 means "skip") with weight
     * {@code weights[r*k+j]}. Groups the rows by expert, runs each expert's MLP once over the gathered block of its
     * rows, and adds {@code weight * result} into {@code out[r*H...]} (out is not cleared). Batch invariant: the
     * expert MLPs are, and for each row the k contributions are added in j order, so a row's result does not depend
     * on which other rows share the call or how they were grouped.
     *
     * <p>Memory: the expert outputs for all rows*k choices are held until the final additions.
     */
    public static void forward(MoeWeights w, float[] x, Routing routing, float[] out) {
        int hidden = Math.toIntExact(w.gate().dim(2));
        int numExperts = w.numExperts();
        int rows = routing.rows();
        int k = routing.k();
        int[] experts = routing.experts();
        float[] weights = routing.weights();
        int slots = rows * k;
        if (x.length < rows * hidden || out.length < rows * hidden) {
            throw new IllegalArgumentException("MoE over " + rows + " rows needs " + rows * hidden
                    + " floats of x and out; got " + x.length + " and " + out.length);
        }
        // Slots of each expert in slot order: slotsOf[start[e] .. start[e+1]).
        int[] start = new int[numExperts + 1];
        for (int s = 0; s < slots; s++) {
            int e = experts[s];
            if (e >= numExperts) {
                throw new IllegalArgumentException("row " + s / k + " chose expert " + e + " but the layer has only "
                        + numExperts + " experts");
            }
            if (e >= 0) {
                start[e + 1]++;
            }
        }
        for (int e = 0; e < numExperts; e++) {
            start[e + 1] += start[e];
        }
        int[] slotsOf = new int[start[numExperts]];
        int[] fill = start.clone();
        for (int s = 0; s < slots; s++) {
            if (experts[s] >= 0) {
                slotsOf[fill[experts[s]]++] = s;
            }
        }
        // results[e] row i is expert e's output for slot slotsOf[start[e] + i].
        float[][] results = new float[numExperts][];
        int[] resultRow = new int[slots];
        List<Mlp.Call> calls = new ArrayList<>();
        for (int e = 0; e < numExperts; e++) {
            int count = start[e + 1] - start[e];
            if (count == 0) {
                continue;
            }
            float[] block = new float[count * hidden];
            for (int i = 0; i < count; i++) {
                int s = slotsOf[start[e] + i];
                System.arraycopy(x, s / k * hidden, block, i * hidden, hidden);
                resultRow[s] = i;
            }
            results[e] = new float[count * hidden];
            calls.add(new Mlp.Call(w.expert(e), block, count, results[e]));
        }
        if (calls.size() >= EXPERTS_PER_THREAD * Parallel.threads()) {
            // Enough experts to share out: each thread runs whole experts (their matmuls then run on it alone), one
            // dispatch for the layer instead of two per expert.
            int last = calls.size() - 1;
            boolean backwards = (CALLS.getAndIncrement() & 1) == 1;
            Parallel.forRange(calls.size(), 1, (from, to) -> {
                for (int a = from; a < to; a++) {
                    Mlp.forward(List.of(calls.get(backwards ? last - a : a)));
                }
            });
        } else {
            // Few experts: all threads on each projection, every expert's gate and up in one dispatch, the downs in
            // another.
            Mlp.forward(calls);
        }
        Parallel.forRange(rows, Math.max(1, 16_384 / Math.max(1, k * hidden)), (from, to) -> {
            for (int r = from; r < to; r++) {
                for (int j = 0; j < k; j++) {
                    int s = r * k + j;
                    if (experts[s] >= 0) {
                        addScaled(results[experts[s]], resultRow[s] * hidden, weights[s], out, r * hidden, hidden);
                    }
                }
            }
        });
    }

    /** dst[dstOff + i] = fma(scale, src[srcOff + i], dst[dstOff + i]) for i < n, every element in lanes. */
    private static void addScaled(float[] src, int srcOff, float scale, float[] dst, int dstOff, int n) {
        FloatVector factor = FloatVector.broadcast(F, scale);
        for (int i = 0; i < n; i += LANES) {
            VectorMask<Float> in = F.indexInRange(i, n);
            FloatVector.fromArray(F, src, srcOff + i, in).fma(factor, FloatVector.fromArray(F, dst, dstOff + i, in))
                    .intoArray(dst, dstOff + i, in);
        }
    }
}
