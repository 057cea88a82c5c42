package dev.afd.model.ffn;

import java.util.BitSet;

/**
 * A batch of rows for one layer's FFN with their routing: what the attention side hands to its FFN executor, what
 * a frame carries to an ffn-node, and what a compute backend computes. The result is, per row, the dense MLP (dense
 * layer) or the shared expert (MoE layer) if the row is one of {@code sharedRows}, plus
 * {@code weight · expert(x_r)} for every slot of its routing that names an expert.
 *
 * <p>Ownership: the arrays are not copied; whoever builds the batch hands them over and no longer writes them. Any
 * thread may read a batch.
 *
 * @param layer layer index (checked against a model by whoever computes it)
 * @param x post-attention-normed activations, at least {@code rows × hidden}
 * @param hidden width of a row
 * @param sharedRows distinct row indices that get the shared expert or dense MLP
 * @param routing each row's slots; {@link Routing#none} for a dense layer
 */
public record FfnBatch(int layer, float[] x, int hidden, int[] sharedRows, Routing routing) {
    /**
     * @throws IllegalArgumentException when the activations do not cover the rows, or a shared row is outside the
     *     batch or named twice
     */
    public FfnBatch {
        int rows = routing.rows();
        if (hidden < 0 || x.length < (long) rows * hidden) {
            throw new IllegalArgumentException(rows + " rows of width " + hidden + " need " + (long) rows * hidden
                    + " activations, got " + x.length);
        }
        BitSet seen = new BitSet();
        for (int r : sharedRows) {
            if (r < 0 || r >= rows) {
                throw new IllegalArgumentException("shared row " + r + " is outside the frame's " + rows + " rows");
            }
            if (seen.get(r)) {
                throw new IllegalArgumentException("shared row " + r + " is named twice");
            }
            seen.set(r);
        }
    }

    /** Every row gets the shared expert or dense MLP: the whole FFN of a micro-batch, before it is split. */
    public static FfnBatch everyRow(int layer, float[] x, int hidden, Routing routing) {
        int[] all = new int[routing.rows()];
        for (int r = 0; r < all.length; r++) {
            all[r] = r;
        }
        return new FfnBatch(layer, x, hidden, all, routing);
    }

    public int rows() {
        return routing.rows();
    }

    /** Slots per row (0 for a dense layer). */
    public int k() {
        return routing.k();
    }
}
