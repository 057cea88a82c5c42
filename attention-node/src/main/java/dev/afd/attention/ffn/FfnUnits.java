package dev.afd.attention.ffn;

import dev.afd.model.ffn.FfnBatch;

/**
 * A layer's FFN work cut into units, the pieces ffn-nodes compute: per row, its shared-expert (or dense MLP) unit,
 * then one unit per routed slot, in slot order. Unit {@code u} belongs to row {@code u / perRow()}; its place in the
 * row, {@code u % perRow()}, is also its place in the fixed order in which the row's results are added up.
 *
 * @param experts per unit, the routed expert, or -1 for the shared expert / dense MLP
 * @param weights per unit, the routing weight (0 for the shared unit)
 * @param perRow units per row: top-k + 1 on a MoE layer, 1 on a dense one
 */
record FfnUnits(int[] experts, float[] weights, int perRow) {
    static FfnUnits of(FfnBatch batch) {
        int rows = batch.rows();
        int k = batch.k();
        int perRow = k + 1;
        int[] experts = new int[rows * perRow];
        float[] weights = new float[rows * perRow];
        for (int r = 0; r < rows; r++) {
            experts[r * perRow] = -1;
            for (int j = 0; j < k; j++) {
                experts[r * perRow + 1 + j] = batch.routing().experts()[r * k + j];
                weights[r * perRow + 1 + j] = batch.routing().weights()[r * k + j];
            }
        }
        return new FfnUnits(experts, weights, perRow);
    }

    int count() {
        return experts.length;
    }

    int row(int unit) {
        return unit / perRow;
    }

    /** A unit's place in its row's fixed order (0 for the shared or dense unit). */
    int place(int unit) {
        return unit % perRow;
    }

    /**
     * Adds up each row's unit results in the fixed order (shared first, then slot by slot), so that a row's result
     * is the same bits whichever node computed which unit. A node may have added the start of a row already (a
     * group from the row's first unit): then the row's first result holds that sum and the sum goes on after it.
     *
     * @param unitResults {@code count() × hidden} results, unit by unit (a group's sum at its first unit)
     * @param summedThrough per row, the place of the last unit already in its first result (0 when none was added)
     * @return {@code rows × hidden}
     */
    float[] combine(float[] unitResults, int[] summedThrough, int hidden) {
        int rows = count() / perRow;
        float[] out = new float[rows * hidden];
        for (int r = 0; r < rows; r++) {
            int first = r * perRow * hidden;
            System.arraycopy(unitResults, first, out, r * hidden, hidden);
            for (int j = summedThrough[r] + 1; j < perRow; j++) {
                int from = first + j * hidden;
                for (int d = 0; d < hidden; d++) {
                    out[r * hidden + d] += unitResults[from + d];
                }
            }
        }
        return out;
    }
}
