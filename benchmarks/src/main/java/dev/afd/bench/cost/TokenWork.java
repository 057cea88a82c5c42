package dev.afd.bench.cost;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The work of decoding one token, summed over all layers: the four columns of the paper's Tables 2 and 3.
 *
 * @param context tokens already in the cache that the new token attends to
 * @param kvBytesPerContextToken cache bytes one token of context takes over all layers (also the bytes a sequence
 *     of {@code context} tokens occupies, divided by {@code context})
 * @param kvBytes cache bytes read: {@code kvBytesPerContextToken × context}
 * @param attentionFlops the attention product alone ("attention computation w/o linear")
 * @param linearFlops the projections before and after attention
 * @param ffnFlops the dense MLPs, routed and shared experts
 */
public record TokenWork(long context, double kvBytesPerContextToken, double kvBytes, double attentionFlops,
        double linearFlops, double ffnFlops) {

    /** Attention-product FLOPs per KV byte read: the paper's "arithmetic intensity" of the attention kind. */
    @JsonProperty("attention_intensity")
    public double attentionIntensity() {
        return attentionFlops / kvBytes;
    }
}
