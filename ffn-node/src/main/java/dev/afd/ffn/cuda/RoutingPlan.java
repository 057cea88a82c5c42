package dev.afd.ffn.cuda;

import dev.afd.ffn.core.ExpertRange;
import dev.afd.model.ffn.FfnBatch;
import java.util.Arrays;

/**
 * How one {@code compute} call maps onto the kernels of {@code ffn.cu}, worked out on the host from the frame's
 * routing (which arrives on the host anyway). Pure data, no CUDA.
 *
 * <p>Two grouped MLPs run per call. The shared one (shared expert, or a dense layer's MLP) runs over the
 * {@code sharedRows}: shared position {@code i} is frame row {@code sharedIndex[i]}. The routed one runs over
 * the served slots sorted by local expert (and by slot within an expert, as the CPU backend does): position
 * {@code p} is frame row {@code slotRow[p]}. The combine kernel then adds, per frame row, its shared result
 * ({@code sharedPos[r]}, or none when -1) and its slots' results ({@code slotPos[r*k+j]}, or none when -1)
 * weighted by {@code slotWeight}.
 *
 * @param rows frame rows
 * @param k slots per row
 * @param sharedIndex frame row of each shared position
 * @param sharedPos {@code [rows]}: shared position of each frame row, or -1
 * @param slotRow frame row of each routed position
 * @param slotPos {@code [rows*k]}: routed position of each slot, or -1 for a slot another node serves
 * @param slotWeight {@code [rows*k]}: routing weight of each slot
 * @param sharedTiles tiles of the shared MLP (one group, expert 0)
 * @param expertTiles tiles of the routed MLP (one group per local expert {@code e - experts.first()})
 */
record RoutingPlan(int rows, int k, int[] sharedIndex, int[] sharedPos, int[] slotRow, int[] slotPos,
        float[] slotWeight, Tiles sharedTiles, Tiles expertTiles) {

    /**
     * Plans a batch that has passed {@link dev.afd.ffn.core.FfnArguments#check}: every expert id is -1 or inside
     * {@code experts} (and the batch's shared rows are distinct rows of it, as every {@link FfnBatch} is).
     */
    static RoutingPlan of(FfnBatch batch, ExpertRange experts) {
        int rows = batch.rows();
        int k = batch.k();
        int[] sharedRows = batch.sharedRows();
        int[] expertIds = batch.routing().experts();
        float[] expertWeights = batch.routing().weights();
        int[] sharedPos = new int[rows];
        Arrays.fill(sharedPos, -1);
        for (int i = 0; i < sharedRows.length; i++) {
            sharedPos[sharedRows[i]] = i;
        }
        int slots = rows * k;
        // Counting sort of the served slots by local expert; slot order is kept within an expert.
        int[] groupStart = new int[experts.size() + 1];
        for (int s = 0; s < slots; s++) {
            if (expertIds[s] >= 0) {
                groupStart[expertIds[s] - experts.first() + 1]++;
            }
        }
        for (int g = 0; g < experts.size(); g++) {
            groupStart[g + 1] += groupStart[g];
        }
        int[] next = Arrays.copyOf(groupStart, experts.size());
        int[] slotRow = new int[groupStart[experts.size()]];
        int[] slotPos = new int[slots];
        for (int s = 0; s < slots; s++) {
            if (expertIds[s] >= 0) {
                int p = next[expertIds[s] - experts.first()]++;
                slotRow[p] = s / k;
                slotPos[s] = p;
            } else {
                slotPos[s] = -1;
            }
        }
        return new RoutingPlan(rows, k, sharedRows.clone(), sharedPos, slotRow, slotPos,
                Arrays.copyOf(expertWeights, slots), Tiles.of(new int[] {0, sharedRows.length}), Tiles.of(groupStart));
    }

    /** Rows through the shared MLP. */
    int sharedCount() {
        return sharedIndex.length;
    }

    /** Served slots, i.e. rows through the routed MLP. */
    int routedCount() {
        return slotRow.length;
    }
}
