package dev.afd.ffn.core;

import dev.afd.model.step3.LayerWeights;
import dev.afd.model.step3.Step3Weights;

/**
 * The argument checks of {@link FfnBackend#compute}, shared by every backend so that all of them refuse the same
 * calls with the same messages, before any work starts.
 */
public final class FfnArguments {
    private FfnArguments() {}

    /**
     * Checks one {@link FfnBackend#compute} call against the model and the backend's experts.
     *
     * @return the layer's weights
     * @throws IllegalArgumentException naming the first thing that is wrong
     */
    public static LayerWeights check(Step3Weights weights, ExpertRange experts, int hidden, int layer, float[] x,
            int rows, int[] sharedRows, int k, int[] expertIds, float[] expertWeights) {
        if (layer < 0 || layer >= weights.layers().size()) {
            throw new IllegalArgumentException("layer " + layer + " does not exist; the model has "
                    + weights.layers().size() + " layers");
        }
        if (rows < 0 || k < 0 || x.length < (long) rows * hidden || expertIds.length < (long) rows * k
                || expertWeights.length < (long) rows * k) {
            throw new IllegalArgumentException(rows + " rows with " + k + " slots need " + (long) rows * hidden
                    + " activations and " + (long) rows * k + " expert ids and weights; got " + x.length + ", "
                    + expertIds.length + " and " + expertWeights.length);
        }
        LayerWeights l = weights.layers().get(layer);
        for (int s = 0; s < rows * k; s++) {
            int e = expertIds[s];
            if (e == -1) {
                continue;
            }
            String slot = "row " + s / k + " slot " + s % k;
            if (!l.isMoe()) {
                throw new IllegalArgumentException(slot + " names expert " + e + " but layer " + layer
                        + " is dense: it has no routed experts");
            }
            if (!experts.contains(e)) {
                throw new IllegalArgumentException(slot + ": expert " + e + " is outside this node's experts "
                        + experts + (e < 0 ? " (-1 marks a slot that another node serves)" : ""));
            }
        }
        for (int r : sharedRows) {
            if (r < 0 || r >= rows) {
                throw new IllegalArgumentException("shared row " + r + " is outside the frame's " + rows + " rows");
            }
        }
        return l;
    }

    /** Whether some slot names an expert (after {@link #check}, every such expert is this node's). */
    public static boolean anyRouted(int rows, int k, int[] expertIds) {
        for (int s = 0; s < rows * k; s++) {
            if (expertIds[s] >= 0) {
                return true;
            }
        }
        return false;
    }
}
