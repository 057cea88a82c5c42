package dev.afd.bench.cost;

import java.util.Locale;

/**
 * What the cost model needs to know about a decoder-only model.
 *
 * @param name how reports name it
 * @param modelType the Hugging Face {@code model_type} it was read from
 * @param hiddenSize residual width H
 * @param numLayers decoder layers (multi-token-prediction layers are not counted: plain decoding skips them)
 * @param vocabSize embedding rows
 * @param tiedEmbeddings whether {@code lm_head} shares the embedding matrix
 * @param attention every full-attention layer's attention
 * @param ffn every layer's feed-forward block
 * @param sliding the layers that attend through a sliding window instead, counted in {@code numLayers}
 */
public record ModelSpec(String name, String modelType, int hiddenSize, int numLayers, int vocabSize,
        boolean tiedEmbeddings, AttentionSpec attention, FfnSpec ffn, SlidingLayers sliding) {

    /** A model whose every layer attends to the whole context. */
    public ModelSpec(String name, String modelType, int hiddenSize, int numLayers, int vocabSize,
            boolean tiedEmbeddings, AttentionSpec attention, FfnSpec ffn) {
        this(name, modelType, hiddenSize, numLayers, vocabSize, tiedEmbeddings, attention, ffn, SlidingLayers.none());
    }

    public ModelSpec {
        if (hiddenSize <= 0 || numLayers <= 0 || vocabSize <= 0) {
            throw new CostInputException(name + ": hidden_size, num_hidden_layers and vocab_size must be positive");
        }
        if (ffn.layers() != numLayers) {
            throw new CostInputException(String.format(Locale.ROOT, "%s: %d dense + %d MoE FFN layers do not add up"
                    + " to num_hidden_layers %d", name, ffn.denseLayers(), ffn.moeLayers(), numLayers));
        }
        if (sliding.layers() > numLayers) {
            throw new CostInputException(name + ": " + sliding.layers() + " sliding-window layers of "
                    + numLayers);
        }
    }

    /** Layers that attend to the whole context. */
    public int fullLayers() {
        return numLayers - sliding.layers();
    }

    /** Attention projection weights over all layers. */
    public long attentionParams() {
        long slidingParams = sliding.layers() == 0 ? 0 : sliding.attention().projectionParams(hiddenSize);
        return fullLayers() * attention.projectionParams(hiddenSize) + sliding.layers() * slidingParams;
    }

    /** Embedding plus {@code lm_head} (one matrix when tied). */
    public long embeddingParams() {
        return (tiedEmbeddings ? 1L : 2L) * vocabSize * hiddenSize;
    }

    /** Every weight (norms left out: they are below a millionth of the total). */
    public long totalParams() {
        return attentionParams() + ffn.totalParams(hiddenSize) + embeddingParams();
    }

    /** Weights one decoded token touches: attention, its share of the FFN, embedding row and {@code lm_head}. */
    public long activatedParams() {
        return attentionParams() + ffn.activatedParams(hiddenSize) + embeddingParams();
    }

    /**
     * The work of decoding one token with {@code context} tokens in the cache, over all layers; a sliding-window
     * layer caches and reads only the last {@code window} of them.
     *
     * @param kvBytesPerValue bytes each cached value takes (1 for the paper's 8-bit KV, 2 for BF16)
     */
    public TokenWork perToken(long context, double kvBytesPerValue) {
        if (context <= 0) {
            throw new CostInputException("context must be positive, got " + context);
        }
        if (!(kvBytesPerValue > 0)) {
            throw new CostInputException("KV bytes per value must be positive, got " + kvBytesPerValue);
        }
        double kvValues = (double) attention.kvValuesPerToken() * fullLayers() * context;
        double attentionFlops = (double) attention.flopsPerContextToken() * context * fullLayers();
        if (sliding.layers() > 0) {
            long visible = sliding.visible(context);
            kvValues += (double) sliding.attention().kvValuesPerToken() * sliding.layers() * visible;
            attentionFlops += (double) sliding.attention().flopsPerContextToken() * visible * sliding.layers();
        }
        double kvBytes = kvValues * kvBytesPerValue;
        return new TokenWork(context, kvBytes / context, kvBytes, attentionFlops, 2.0 * attentionParams(),
                ffn.flopsPerToken(hiddenSize));
    }

    public String shape() {
        return String.format(Locale.ROOT, "%d layers, hidden %d; %s%s; FFN %s", numLayers, hiddenSize,
                attention.shape(), sliding.shape(), ffn.shape());
    }
}
