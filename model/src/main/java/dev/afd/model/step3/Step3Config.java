package dev.afd.model.step3;

import static dev.afd.model.config.ConfigReader.require;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.config.ConfigException;
import dev.afd.model.config.ConfigReader;
import dev.afd.model.config.StepConfigKeys;
import dev.afd.model.config.JsonFiles;
import dev.afd.model.family.CausalLm;
import dev.afd.model.family.KvLayout;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelWeights;
import dev.afd.model.family.TensorSpec;
import dev.afd.model.family.TensorSpec.Kind;
import dev.afd.model.ffn.FfnExecutor;
import dev.afd.model.tensor.TensorSource;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * The text part of a Hugging Face Step-3 {@code config.json}: every number the forward pass needs.
 *
 * @param hiddenSize residual width H
 * @param numLayers transformer layers
 * @param numHeads query heads
 * @param numKvHeads KV heads ({@code num_attention_groups}); MFA uses exactly one
 * @param headDim per-head width
 * @param shareQDim low-rank query width
 * @param intermediateSize dense MLP width
 * @param moeLayers sorted indices of the MoE layers; every other layer is dense
 * @param numExperts routed experts per MoE layer
 * @param topK experts per token
 * @param moeIntermediateSize width of each routed expert
 * @param shareExpertDim width of the always-on shared expert
 * @param normExpertWeight whether the top-k probabilities are renormalised to sum to 1
 * @param vocabSize rows of the embedding and of {@code lm_head}
 * @param ropeTheta RoPE base
 * @param rmsNormEps epsilon of every RMSNorm
 * @param maxPositions longest sequence the model supports
 * @param eosTokenIds end-of-sequence ids from config.json (generation_config.json may add more)
 * @param bosTokenId beginning-of-sequence id, or -1 when the config has none
 */
public record Step3Config(
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int shareQDim,
        int intermediateSize,
        List<Integer> moeLayers,
        int numExperts,
        int topK,
        int moeIntermediateSize,
        int shareExpertDim,
        boolean normExpertWeight,
        int vocabSize,
        double ropeTheta,
        double rmsNormEps,
        int maxPositions,
        List<Integer> eosTokenIds,
        int bosTokenId) implements ModelConfig {

    public Step3Config {
        moeLayers = List.copyOf(moeLayers);
        eosTokenIds = List.copyOf(eosTokenIds);
        require(numKvHeads == 1, "num_attention_groups must be 1 (MFA shares one K/V head), got " + numKvHeads);
        require(headDim % 2 == 0, "head_dim must be even for RoPE, got " + headDim);
        require(topK >= 1 && (moeLayers.isEmpty() || topK <= numExperts),
                "moe_top_k must be between 1 and moe_num_experts (" + numExperts + "), got " + topK);
        for (int l : moeLayers) {
            require(l >= 0 && l < numLayers, "moe_layers_enum names layer " + l + " but the model has "
                    + numLayers + " layers");
        }
    }

    @Override
    public String modelType() {
        return "step3";
    }

    /** MFA: one K/V head per layer, every layer attending to every position. */
    @Override
    public KvLayout kvLayout() {
        return KvLayout.singleHead(numLayers, headDim);
    }

    @Override
    public List<LinearShape> linearShapes() {
        java.util.Set<LinearShape> s = new java.util.LinkedHashSet<>();
        int h = hiddenSize;
        s.add(new LinearShape(shareQDim, h));
        s.add(new LinearShape(qDim(), shareQDim));
        s.add(new LinearShape(h, qDim()));
        s.add(new LinearShape(headDim, h));
        s.add(new LinearShape(intermediateSize, h));
        s.add(new LinearShape(h, intermediateSize));
        if (!moeLayers.isEmpty()) {
            s.add(new LinearShape(moeIntermediateSize, h));
            s.add(new LinearShape(h, moeIntermediateSize));
            s.add(new LinearShape(shareExpertDim, h));
            s.add(new LinearShape(h, shareExpertDim));
        }
        s.add(new LinearShape(vocabSize, h));
        return List.copyOf(s);
    }

    @Override
    public List<TensorSpec> tensors() {
        List<TensorSpec> t = new ArrayList<>();
        long h = hiddenSize;
        t.add(new TensorSpec("model.embed_tokens.weight", Kind.EMBEDDING, vocabSize, h));
        for (int i = 0; i < numLayers; i++) {
            String p = "model.layers." + i + ".";
            t.add(new TensorSpec(p + "input_layernorm.weight", Kind.NORM, h));
            t.add(new TensorSpec(p + "self_attn.q_proj.weight", Kind.LINEAR, shareQDim, h));
            t.add(new TensorSpec(p + "self_attn.k_proj.weight", Kind.LINEAR, headDim, h));
            t.add(new TensorSpec(p + "self_attn.v_proj.weight", Kind.LINEAR, headDim, h));
            t.add(new TensorSpec(p + "self_attn.inter_norm.weight", Kind.NORM, shareQDim));
            t.add(new TensorSpec(p + "self_attn.wq.weight", Kind.LINEAR, qDim(), shareQDim));
            t.add(new TensorSpec(p + "self_attn.o_proj.weight", Kind.LINEAR, h, qDim()));
            t.add(new TensorSpec(p + "post_attention_layernorm.weight", Kind.NORM, h));
            if (isMoeLayer(i)) {
                long e = numExperts;
                long ie = moeIntermediateSize;
                t.add(new TensorSpec(p + "moe.gate.weight", Kind.ROUTER, e, h));
                t.addAll(TensorSpec.mlp(p + "moe.", ie, h, e));
                t.addAll(TensorSpec.mlp(p + "share_expert.", shareExpertDim, h));
            } else {
                t.addAll(TensorSpec.mlp(p + "mlp.", intermediateSize, h));
            }
        }
        t.add(new TensorSpec("model.norm.weight", Kind.NORM, h));
        t.add(new TensorSpec("lm_head.weight", Kind.LM_HEAD, vocabSize, h));
        return List.copyOf(t);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode n = JsonFiles.object();
        n.putArray("architectures").add("Step3TextForCausalLM");
        n.put("model_type", "step3_text");
        n.put("hidden_size", hiddenSize);
        n.put("num_hidden_layers", numLayers);
        n.put("num_attention_heads", numHeads);
        n.put("num_attention_groups", numKvHeads);
        n.put("head_dim", headDim);
        n.put("share_q_dim", shareQDim);
        n.put("intermediate_size", intermediateSize);
        StepConfigKeys.putMoe(n, moeLayers, numExperts, topK, moeIntermediateSize, shareExpertDim, normExpertWeight);
        n.put("vocab_size", vocabSize);
        n.put("rope_theta", ropeTheta);
        n.putNull("rope_scaling");
        n.put("rms_norm_eps", rmsNormEps);
        n.put("max_position_embedding", maxPositions);
        StepConfigKeys.putClosing(n, maxPositions, bosTokenId, eosTokenIds);
        return n;
    }

    @Override
    public Step3Weights bind(TensorSource source) {
        return Step3Weights.bind(this, source);
    }

    @Override
    public CausalLm model(ModelWeights weights, FfnExecutor ffn) {
        if (!(weights instanceof Step3Weights w)) {
            throw new IllegalArgumentException("a Step-3 model needs Step-3 weights, got " + weights.getClass());
        }
        return new Step3Model(this, w, ffn);
    }

    /** Query width after {@code wq}: heads × head_dim. */
    public int qDim() {
        return numHeads * headDim;
    }

    /**
     * Parses the config from a JSON tree; {@code source} names it in error messages. A {@code step3_vl} config is read
     * from its {@code text_config}.
     */
    public static Step3Config fromJson(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new ConfigException(source + ": expected a JSON object");
        }
        String modelType = root.path("model_type").asText("");
        JsonNode c = root;
        if (modelType.equals("step3_vl") || (root.has("text_config") && !root.has("hidden_size"))) {
            c = root.path("text_config");
            if (!c.isObject()) {
                throw new ConfigException(source + ": a step3_vl config needs a text_config object");
            }
            String textType = c.path("model_type").asText("step3_text");
            if (!textType.equals("step3_text")) {
                throw new ConfigException(source + ": text_config.model_type is '" + textType
                        + "', expected step3_text");
            }
        } else if (!modelType.isEmpty() && !modelType.equals("step3_text")) {
            throw new ConfigException(source + ": model_type is '" + modelType
                    + "'; this engine serves step3_text and step3_vl checkpoints");
        }
        if (c.has("quantization_config")) {
            throw new ConfigException(source + ": quantized checkpoints (quantization_config "
                    + c.path("quantization_config").path("quant_method").asText("?")
                    + ") are not supported yet; use the BF16 release of the model");
        }
        ConfigReader r = new ConfigReader(c, source);
        int numLayers = r.integer("num_hidden_layers");
        // The reference implementations treat every layer but the first as MoE when the key is absent.
        List<Integer> moe = r.layers("moe_layers_enum", IntStream.range(1, numLayers).boxed().toList());
        List<Integer> eos = ConfigReader.ids(c.path("eos_token_id"));
        if (eos.isEmpty() && c != root) {
            eos = ConfigReader.ids(root.path("eos_token_id"));
        }
        JsonNode bos = c.has("bos_token_id") ? c.path("bos_token_id") : root.path("bos_token_id");
        return new Step3Config(
                r.integer("hidden_size"),
                numLayers,
                r.integer("num_attention_heads"),
                r.integer("num_attention_groups", 1),
                r.integer("head_dim"),
                r.integer("share_q_dim"),
                r.integer("intermediate_size"),
                moe,
                r.integer("moe_num_experts", 0),
                r.integer("moe_top_k", 1),
                r.integer("moe_intermediate_size", 0),
                r.integer("share_expert_dim", 0),
                c.path("norm_expert_weight").asBoolean(false),
                r.integer("vocab_size"),
                r.number("rope_theta", 500000.0),
                r.number("rms_norm_eps", 1e-5),
                r.firstInteger(65536, "max_position_embedding", "max_position_embeddings", "max_seq_len"),
                eos,
                bos.isIntegralNumber() ? bos.asInt() : -1);
    }

    @Override
    public String fingerprint() {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT,
                "Step3Config[H=%d, layers=%d, heads=%d, kv=%d, headDim=%d, shareQ=%d, I=%d, moe=%s, E=%d, k=%d,"
                        + " Ie=%d, Is=%d, norm=%b, V=%d, theta=%s, eps=%s, maxPos=%d]",
                hiddenSize, numLayers, numHeads, numKvHeads, headDim, shareQDim, intermediateSize, moeLayers,
                numExperts, topK, moeIntermediateSize, shareExpertDim, normExpertWeight, vocabSize, ropeTheta,
                rmsNormEps, maxPositions);
    }
}
