package dev.afd.ffn.core;

import dev.afd.model.family.ModelWeights;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.FfnLayerWeights;
import dev.afd.model.ffn.Routing;

/**
 * The checks of a batch against the model and a backend's experts, shared by every backend so that all of them
 * refuse the same calls with the same messages, before any work starts. The batch's own shape is checked when it is
 * built ({@link FfnBatch}).
 */
public final class FfnArguments {
    private FfnArguments() {}

    /**
     * Checks one {@link FfnBackend#compute} call against the model and the backend's experts.
     *
     * @return the layer's weights
     * @throws IllegalArgumentException naming the first thing that is wrong
     */
    public static FfnLayerWeights check(ModelWeights weights, ExpertSet experts, int hidden, FfnBatch batch) {
        int layer = batch.layer();
        if (layer < 0 || layer >= weights.ffnLayers().size()) {
            throw new IllegalArgumentException("layer " + layer + " does not exist; the model has "
                    + weights.ffnLayers().size() + " layers");
        }
        if (batch.hidden() != hidden) {
            throw new IllegalArgumentException("rows of width " + batch.hidden() + " do not fit the model's hidden"
                    + " size " + hidden);
        }
        FfnLayerWeights l = weights.ffnLayers().get(layer);
        Routing routing = batch.routing();
        int k = routing.k();
        for (int s = 0; s < routing.experts().length; s++) {
            int e = routing.experts()[s];
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
        return l;
    }
}
