package dev.afd.model.family;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.ffn.FfnExecutor;
import dev.afd.model.tensor.TensorSource;
import java.util.List;

/**
 * What the engine, the KV cache, the scheduler, the FFN exchange and the gateway need to know of a model, whatever
 * its family. Each family ({@link ModelFamilies}) reads its own {@code config.json} into a class implementing this;
 * the family's attention variant, norms, router and clamps stay behind {@link #bind} and {@link #model}.
 */
public interface ModelConfig {
    /** The family's name, as {@code config.json}'s {@code model_type} spells it (for logs and messages). */
    String modelType();

    int hiddenSize();

    /** Decoder layers the forward pass runs (MTP layers, if any, are not among them). */
    int numLayers();

    /** Rows of the embedding and of {@code lm_head}. */
    int vocabSize();

    /** Longest sequence the model supports. */
    int maxPositions();

    /** End-of-sequence ids from config.json (generation_config.json may add more). */
    List<Integer> eosTokenIds();

    /** Beginning-of-sequence id, or -1 when the config has none. */
    int bosTokenId();

    /** Sorted indices of the MoE layers; every other layer has a dense MLP. */
    List<Integer> moeLayers();

    default boolean isMoeLayer(int layer) {
        return moeLayers().contains(layer);
    }

    /** Routed experts per MoE layer (0 when the model has none). */
    int numExperts();

    /** Experts per token. */
    int topK();

    /** The shape of the KV cache, layer by layer. */
    KvLayout kvLayout();

    /** The distinct linear-layer shapes of the model ({@code lm_head} included), for kernel benchmarks. */
    List<LinearShape> linearShapes();

    /**
     * Every tensor of the family's checkpoint layout for this config, in checkpoint order: what the model generator
     * writes and {@link #bind} reads.
     */
    List<TensorSpec> tensors();

    /**
     * {@code config.json} in the family's Hugging Face key names, as a release writes it (without {@code torch_dtype},
     * which depends on how the weights are stored).
     */
    ObjectNode toJson();

    /** A stable hash of the numbers that define the model's math, for handshakes between nodes. */
    String fingerprint();

    /**
     * Binds every tensor this config calls for.
     *
     * @throws IllegalArgumentException naming the first tensor that is missing or has the wrong shape
     */
    ModelWeights bind(TensorSource source);

    /**
     * The forward pass over {@code weights} (bound by {@link #bind} of this config), with the FFN half of every layer
     * computed by {@code ffn}.
     */
    CausalLm model(ModelWeights weights, FfnExecutor ffn);

    /** A weight matrix's shape: {@code rows} outputs by {@code cols} inputs. */
    record LinearShape(int rows, int cols) {}
}
