package dev.afd.model.step3p5;

import static dev.afd.model.config.ConfigReader.require;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
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
import dev.afd.model.kernels.Rope;
import dev.afd.model.tensor.TensorSource;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A Hugging Face Step-3.5 {@code config.json} ({@code model_type: step3p5}): every number the forward pass needs.
 * Per-layer lists ({@code layer_types}, {@code rope_theta}, {@code partial_rotary_factors}, the SwiGLU limits) have
 * one entry per layer, the MTP layers (indices {@code numLayers ..}) included.
 *
 * @param hiddenSize residual width H
 * @param numLayers decoder layers of the main model
 * @param numMtpLayers multi-token-prediction layers ({@code num_nextn_predict_layers}), after the main ones
 * @param full the attention shape of full-attention layers ({@code num_attention_heads}, ...)
 * @param sliding the attention shape of sliding-window layers ({@code attention_other_setting})
 * @param slidingLayers for every layer (MTP ones included), whether it attends through the sliding window
 * @param slidingWindow positions a sliding layer sees, its own included
 * @param ropeTheta RoPE base of every layer
 * @param rotaryFactors fraction of head_dim each layer rotates ({@code partial_rotary_factors})
 * @param ropeScaling llama3 frequency scaling, or null
 * @param scaledTypes the layer types the scaling applies to ({@code yarn_only_types})
 * @param intermediateSize dense MLP width (dense and MTP layers)
 * @param moeLayers sorted indices of the MoE layers
 * @param numExperts routed experts per MoE layer
 * @param topK experts per token
 * @param moeIntermediateSize width of each routed expert
 * @param shareExpertDim width of the shared expert
 * @param normExpertWeight whether the chosen experts' weights are renormalised to sum to 1
 * @param routerScalingFactor factor on every routed weight ({@code moe_router_scaling_factor})
 * @param routerBias whether MoE layers have a selection bias ({@code use_moe_router_bias})
 * @param swigluLimits routed experts' SwiGLU clamp per layer, 0 for none
 * @param swigluLimitsShared shared expert's and dense MLP's SwiGLU clamp per layer, 0 for none
 * @param headWiseGate whether attention has a per-head sigmoid gate ({@code use_head_wise_attn_gate})
 * @param zeroCentred whether RMSNorms scale by {@code 1 + w} ({@code zero_centered})
 * @param vocabSize rows of the embedding and of {@code lm_head}
 * @param rmsNormEps epsilon of every RMSNorm
 * @param maxPositions longest sequence the model supports
 * @param eosTokenIds end-of-sequence ids from config.json
 * @param bosTokenId beginning-of-sequence id, or -1
 */
public record Step3p5Config(
        int hiddenSize,
        int numLayers,
        int numMtpLayers,
        AttentionShape full,
        AttentionShape sliding,
        List<Boolean> slidingLayers,
        int slidingWindow,
        List<Double> ropeTheta,
        List<Double> rotaryFactors,
        Rope.Llama3Scaling ropeScaling,
        Set<String> scaledTypes,
        int intermediateSize,
        List<Integer> moeLayers,
        int numExperts,
        int topK,
        int moeIntermediateSize,
        int shareExpertDim,
        boolean normExpertWeight,
        double routerScalingFactor,
        boolean routerBias,
        List<Double> swigluLimits,
        List<Double> swigluLimitsShared,
        boolean headWiseGate,
        boolean zeroCentred,
        int vocabSize,
        double rmsNormEps,
        int maxPositions,
        List<Integer> eosTokenIds,
        int bosTokenId) implements ModelConfig {

    static final String FULL = "full_attention";
    static final String SLIDING = "sliding_attention";

    /**
     * Query heads, KV groups and head width of one attention type.
     *
     * @param heads query heads
     * @param groups KV heads; query head h reads group {@code h / (heads / groups)}
     * @param headDim width of each head
     */
    public record AttentionShape(int heads, int groups, int headDim) {
        public int qDim() {
            return heads * headDim;
        }

        public int kvDim() {
            return groups * headDim;
        }

        public int headsPerGroup() {
            return heads / groups;
        }
    }

    public Step3p5Config {
        slidingLayers = List.copyOf(slidingLayers);
        ropeTheta = List.copyOf(ropeTheta);
        rotaryFactors = List.copyOf(rotaryFactors);
        scaledTypes = Set.copyOf(scaledTypes);
        moeLayers = List.copyOf(moeLayers);
        swigluLimits = List.copyOf(swigluLimits);
        swigluLimitsShared = List.copyOf(swigluLimitsShared);
        eosTokenIds = List.copyOf(eosTokenIds);
        int all = numLayers + numMtpLayers;
        require(numLayers >= 1 && numMtpLayers >= 0, "num_hidden_layers must be >= 1 and num_nextn_predict_layers"
                + " >= 0, got " + numLayers + " and " + numMtpLayers);
        require(slidingLayers.size() == all && ropeTheta.size() == all && rotaryFactors.size() == all
                && swigluLimits.size() == all && swigluLimitsShared.size() == all,
                "every per-layer list needs " + all + " entries (layers and MTP layers)");
        for (AttentionShape s : List.of(full, sliding)) {
            require(s.heads() >= 1 && s.groups() >= 1 && s.heads() % s.groups() == 0,
                    "num_attention_heads must be a positive multiple of num_attention_groups, got " + s);
        }
        require(full.headDim() == sliding.headDim(), "attention_other_setting.head_dim " + sliding.headDim()
                + " differs from head_dim " + full.headDim() + "; one KV row width for every layer is supported");
        require(slidingWindow >= 1 || !slidingLayers.contains(true),
                "sliding_window must be >= 1 when layer_types has sliding_attention layers, got " + slidingWindow);
        for (int l = 0; l < all; l++) {
            // rotaryDim(l), from the parameters: the fields are not assigned before the compact constructor ends.
            int rotary = (int) (full.headDim() * rotaryFactors.get(l));
            require(rotary >= 2 && rotary % 2 == 0 && rotary <= full.headDim(), "partial_rotary_factors[" + l
                    + "] = " + rotaryFactors.get(l) + " rotates " + rotary + " of head_dim " + full.headDim()
                    + " dimensions; it must be an even number from 2 to head_dim");
            require(ropeTheta.get(l) > 0, "rope_theta[" + l + "] must be positive, got " + ropeTheta.get(l));
            require(swigluLimits.get(l) >= 0 && swigluLimitsShared.get(l) >= 0,
                    "swiglu_limits and swiglu_limits_shared must be >= 0 (0: no clamp), layer " + l);
        }
        require(topK >= 1 && (moeLayers.isEmpty() || topK <= numExperts),
                "moe_top_k must be between 1 and moe_num_experts (" + numExperts + "), got " + topK);
        for (int l : moeLayers) {
            require(l >= 0 && l < numLayers, "moe_layers_enum names layer " + l + " but the model has " + numLayers
                    + " layers (MTP layers are dense)");
        }
    }

    /** Parses the config from a JSON tree; {@code source} names it in error messages. */
    public static Step3p5Config fromJson(JsonNode c, String source) {
        ConfigReader r = new ConfigReader(c, source);
        if (c.has("quantization_config")) {
            throw new ConfigException(source + ": quantized checkpoints (quantization_config "
                    + c.path("quantization_config").path("quant_method").asText("?")
                    + ") are not supported yet; use the BF16 release of the model");
        }
        if (c.path("sink").asBoolean(false)) {
            throw new ConfigException(source + ": sink is true; attention sinks are not supported");
        }
        if (!c.path("use_qk_norm").asBoolean(true)) {
            throw new ConfigException(source + ": use_qk_norm is false; Step-3.5 checkpoints have q/k norms");
        }
        String act = c.path("hidden_act").asText("silu");
        require(act.equals("silu"), source + ": hidden_act is '" + act + "'; only silu is supported");
        int numLayers = r.integer("num_hidden_layers");
        int mtp = r.integer("num_nextn_predict_layers", 0);
        int all = numLayers + mtp;
        int headDim = r.integer("head_dim");
        AttentionShape full = new AttentionShape(r.integer("num_attention_heads"),
                r.integer("num_attention_groups"), headDim);
        JsonNode other = c.path("attention_other_setting");
        AttentionShape sliding = full;
        if (other.isObject()) {
            ConfigReader o = new ConfigReader(other, source + " attention_other_setting");
            sliding = new AttentionShape(o.integer("num_attention_heads"), o.integer("num_attention_groups"),
                    o.integer("head_dim", headDim));
        }
        List<Boolean> slidingLayers = new ArrayList<>();
        JsonNode types = c.path("layer_types");
        for (int l = 0; l < all; l++) {
            // Layers past the end of layer_types (MTP layers of a short list) are sliding, as the reference
            // implementations read it.
            String type = types.isArray() && l < types.size() ? types.get(l).asText() : SLIDING;
            require(type.equals(FULL) || type.equals(SLIDING), source + ": layer_types[" + l + "] is '" + type
                    + "', expected " + FULL + " or " + SLIDING);
            slidingLayers.add(type.equals(SLIDING));
        }
        Rope.Llama3Scaling scaling = ropeScaling(c.path("rope_scaling"), source);
        Set<String> scaledTypes = new LinkedHashSet<>();
        if (c.path("yarn_only_types").isArray()) {
            c.path("yarn_only_types").forEach(t -> scaledTypes.add(t.asText()));
        } else {
            scaledTypes.add(FULL);
        }
        List<Integer> eos = ConfigReader.ids(c.path("eos_token_id"));
        JsonNode bos = c.path("bos_token_id");
        return new Step3p5Config(
                r.integer("hidden_size"),
                numLayers,
                mtp,
                full,
                sliding,
                slidingLayers,
                r.integer("sliding_window", 0),
                perLayer(c.path("rope_theta"), all, 10000.0, "rope_theta", source),
                perLayer(c.path("partial_rotary_factors"), all, 1.0, "partial_rotary_factors", source),
                scaling,
                scaledTypes,
                r.integer("intermediate_size"),
                r.layers("moe_layers_enum", List.of()),
                r.integer("moe_num_experts", 0),
                r.integer("moe_top_k", 1),
                r.integer("moe_intermediate_size", 0),
                r.integer("share_expert_dim", 0),
                c.path("norm_expert_weight").asBoolean(true),
                r.number("moe_router_scaling_factor", 1.0),
                c.path("use_moe_router_bias").asBoolean(true),
                limits(c.path("swiglu_limits"), all, "swiglu_limits", source),
                limits(c.path("swiglu_limits_shared"), all, "swiglu_limits_shared", source),
                c.path("use_head_wise_attn_gate").asBoolean(false),
                c.path("zero_centered").asBoolean(true),
                r.integer("vocab_size"),
                r.number("rms_norm_eps", 1e-5),
                r.firstInteger(262144, "max_position_embeddings", "max_seq_len"),
                eos,
                bos.isIntegralNumber() ? bos.asInt() : -1);
    }

    /** One number for every layer, or a list read cyclically (as the reference implementations do). */
    private static List<Double> perLayer(JsonNode n, int layers, double fallback, String key, String source) {
        List<Double> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            JsonNode v = n.isArray() ? (n.isEmpty() ? null : n.get(l % n.size())) : n;
            if (v == null || v.isMissingNode() || v.isNull()) {
                out.add(fallback);
            } else if (v.isNumber()) {
                out.add(v.asDouble());
            } else {
                throw new ConfigException(source + ": " + key + " must be a number or a list of numbers, got " + n);
            }
        }
        return out;
    }

    /** A list of per-layer limits; layers past its end get 0 (no clamp). */
    private static List<Double> limits(JsonNode n, int layers, String key, String source) {
        if (!n.isMissingNode() && !n.isNull() && !n.isArray()) {
            throw new ConfigException(source + ": " + key + " must be a list with one number per layer, got " + n);
        }
        List<Double> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            JsonNode v = n.isArray() && l < n.size() ? n.get(l) : null;
            out.add(v == null || v.isNull() ? 0.0 : v.asDouble());
        }
        return out;
    }

    private static Rope.Llama3Scaling ropeScaling(JsonNode n, String source) {
        if (n.isMissingNode() || n.isNull()) {
            return null;
        }
        String type = n.path("rope_type").asText(n.path("type").asText(""));
        if (!type.equals("llama3")) {
            throw new ConfigException(source + ": rope_scaling type '" + type + "' is not supported (llama3 only)");
        }
        ConfigReader r = new ConfigReader(n, source + " rope_scaling");
        try {
            return new Rope.Llama3Scaling(r.number("factor", 8.0), r.number("low_freq_factor", 1.0),
                    r.number("high_freq_factor", 4.0), r.integer("original_max_position_embeddings", 8192));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source + ": " + e.getMessage());
        }
    }

    public boolean isSliding(int layer) {
        return slidingLayers.get(layer);
    }

    /** The attention shape of {@code layer} (MTP layers included). */
    public AttentionShape attention(int layer) {
        return isSliding(layer) ? sliding : full;
    }

    public int headDim() {
        return full.headDim();
    }

    /** Leading dimensions of each head that {@code layer} rotates: {@code int(head_dim * factor)}. */
    public int rotaryDim(int layer) {
        return (int) (full.headDim() * rotaryFactors.get(layer));
    }

    /** The llama3 scaling {@code layer} uses, or null. */
    public Rope.Llama3Scaling ropeScaling(int layer) {
        return ropeScaling != null && scaledTypes.contains(isSliding(layer) ? SLIDING : FULL) ? ropeScaling : null;
    }

    @Override
    public String modelType() {
        return "step3p5";
    }

    /** GQA groups per layer, each its own slot; sliding layers keep (for now) every position, read the last W. */
    @Override
    public KvLayout kvLayout() {
        return layout(0, numLayers);
    }

    /** The KV layout of the MTP layers, for a cache of their own: MTP layer k is layer k of it. */
    public KvLayout mtpKvLayout() {
        return layout(numLayers, numLayers + numMtpLayers);
    }

    private KvLayout layout(int from, int to) {
        int[] heads = new int[to - from];
        int[] windows = new int[to - from];
        for (int l = from; l < to; l++) {
            heads[l - from] = attention(l).groups();
            windows[l - from] = isSliding(l) ? slidingWindow : 0;
        }
        return new KvLayout(headDim(), heads, windows);
    }

    @Override
    public List<LinearShape> linearShapes() {
        Set<LinearShape> s = new LinkedHashSet<>();
        int h = hiddenSize;
        for (AttentionShape a : List.of(full, sliding)) {
            s.add(new LinearShape(a.qDim(), h));
            s.add(new LinearShape(a.kvDim(), h));
            s.add(new LinearShape(h, a.qDim()));
        }
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
        Kind norm = zeroCentred ? Kind.ZERO_CENTRED_NORM : Kind.NORM;
        t.add(new TensorSpec("model.embed_tokens.weight", Kind.EMBEDDING, vocabSize, h));
        for (int i = 0; i < numLayers + numMtpLayers; i++) {
            String p = "model.layers." + i + ".";
            if (i >= numLayers) {
                t.add(new TensorSpec(p + "enorm.weight", norm, h));
                t.add(new TensorSpec(p + "hnorm.weight", norm, h));
                t.add(new TensorSpec(p + "eh_proj.weight", Kind.LINEAR, h, 2 * h));
            }
            AttentionShape a = attention(i);
            t.add(new TensorSpec(p + "input_layernorm.weight", norm, h));
            t.add(new TensorSpec(p + "self_attn.q_proj.weight", Kind.LINEAR, a.qDim(), h));
            t.add(new TensorSpec(p + "self_attn.k_proj.weight", Kind.LINEAR, a.kvDim(), h));
            t.add(new TensorSpec(p + "self_attn.v_proj.weight", Kind.LINEAR, a.kvDim(), h));
            t.add(new TensorSpec(p + "self_attn.o_proj.weight", Kind.LINEAR, h, a.qDim()));
            if (headWiseGate) {
                t.add(new TensorSpec(p + "self_attn.g_proj.weight", Kind.GATE, a.heads(), h));
            }
            t.add(new TensorSpec(p + "self_attn.q_norm.weight", norm, a.headDim()));
            t.add(new TensorSpec(p + "self_attn.k_norm.weight", norm, a.headDim()));
            t.add(new TensorSpec(p + "post_attention_layernorm.weight", norm, h));
            if (isMoeLayer(i)) {
                long e = numExperts;
                long ie = moeIntermediateSize;
                t.add(new TensorSpec(p + "moe.gate.weight", Kind.ROUTER, e, h));
                if (routerBias) {
                    t.add(new TensorSpec(p + "moe.router_bias", Kind.ROUTER_BIAS, e));
                }
                t.addAll(TensorSpec.mlp(p + "moe.", ie, h, e));
                t.addAll(TensorSpec.mlp(p + "share_expert.", shareExpertDim, h));
            } else {
                t.addAll(TensorSpec.mlp(p + "mlp.", intermediateSize, h));
            }
            if (i >= numLayers) {
                t.add(new TensorSpec(p + "transformer.shared_head.norm.weight", norm, h));
                t.add(new TensorSpec(p + "transformer.shared_head.output.weight", Kind.LM_HEAD, vocabSize, h));
            }
        }
        t.add(new TensorSpec("model.norm.weight", norm, h));
        t.add(new TensorSpec("lm_head.weight", Kind.LM_HEAD, vocabSize, h));
        return List.copyOf(t);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode n = JsonFiles.object();
        n.putArray("architectures").add("Step3p5ForCausalLM");
        n.put("model_type", "step3p5");
        n.put("hidden_size", hiddenSize);
        n.put("num_hidden_layers", numLayers);
        n.put("num_attention_heads", full.heads());
        n.put("num_attention_groups", full.groups());
        n.put("head_dim", full.headDim());
        ObjectNode other = n.putObject("attention_other_setting");
        other.put("attention_type", SLIDING);
        other.put("num_attention_heads", sliding.heads());
        other.put("num_attention_groups", sliding.groups());
        other.put("head_dim", sliding.headDim());
        ArrayNode types = n.putArray("layer_types");
        slidingLayers.forEach(s -> types.add(s ? SLIDING : FULL));
        n.put("sliding_window", slidingWindow);
        ropeTheta.forEach(n.putArray("rope_theta")::add);
        rotaryFactors.forEach(n.putArray("partial_rotary_factors")::add);
        if (ropeScaling == null) {
            n.putNull("rope_scaling");
        } else {
            ObjectNode s = n.putObject("rope_scaling");
            s.put("rope_type", "llama3");
            s.put("factor", ropeScaling.factor());
            s.put("low_freq_factor", ropeScaling.lowFreqFactor());
            s.put("high_freq_factor", ropeScaling.highFreqFactor());
            s.put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
        }
        scaledTypes.stream().sorted().forEach(n.putArray("yarn_only_types")::add);
        n.put("intermediate_size", intermediateSize);
        StepConfigKeys.putMoe(n, moeLayers, numExperts, topK, moeIntermediateSize, shareExpertDim, normExpertWeight);
        n.put("moe_router_activation", "sigmoid");
        n.put("moe_router_scaling_factor", routerScalingFactor);
        n.put("use_moe_router_bias", routerBias);
        n.put("need_fp32_gate", true);
        swigluLimits.forEach(n.putArray("swiglu_limits")::add);
        swigluLimitsShared.forEach(n.putArray("swiglu_limits_shared")::add);
        n.put("use_head_wise_attn_gate", headWiseGate);
        n.put("use_qk_norm", true);
        n.put("zero_centered", zeroCentred);
        n.put("num_nextn_predict_layers", numMtpLayers);
        n.put("vocab_size", vocabSize);
        n.put("rms_norm_eps", rmsNormEps);
        n.put("max_position_embeddings", maxPositions);
        StepConfigKeys.putClosing(n, maxPositions, bosTokenId, eosTokenIds);
        return n;
    }

    @Override
    public Step3p5Weights bind(TensorSource source) {
        return Step3p5Weights.bind(this, source);
    }

    @Override
    public CausalLm model(ModelWeights weights, FfnExecutor ffn) {
        if (!(weights instanceof Step3p5Weights w)) {
            throw new IllegalArgumentException("a Step-3.5 model needs Step-3.5 weights, got " + weights.getClass());
        }
        return new Step3p5Model(this, w, ffn);
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
        return String.format(Locale.ROOT, "Step3p5Config[H=%d, layers=%d+%d mtp, full=%s, sliding=%s, types=%s,"
                        + " window=%d, theta=%s, rotary=%s, scaling=%s %s, I=%d, moe=%s, E=%d, k=%d, Ie=%d, Is=%d,"
                        + " norm=%b, scale=%s, bias=%b, limits=%s, shared=%s, gate=%b, zc=%b, V=%d, eps=%s,"
                        + " maxPos=%d]",
                hiddenSize, numLayers, numMtpLayers, full, sliding, slidingLayers, slidingWindow, ropeTheta,
                rotaryFactors, ropeScaling, scaledTypes.stream().sorted().toList(), intermediateSize, moeLayers,
                numExperts, topK, moeIntermediateSize, shareExpertDim, normExpertWeight, routerScalingFactor,
                routerBias, swigluLimits, swigluLimitsShared, headWiseGate, zeroCentred, vocabSize, rmsNormEps,
                maxPositions);
    }
}
