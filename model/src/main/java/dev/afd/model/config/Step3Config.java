package dev.afd.model.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

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
        int bosTokenId) {

    private static final ObjectMapper JSON = new ObjectMapper();

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

    public boolean isMoeLayer(int layer) {
        return moeLayers.contains(layer);
    }

    /** Query width after {@code wq}: heads × head_dim. */
    public int qDim() {
        return numHeads * headDim;
    }

    /** Reads {@code config.json}; a {@code step3_vl} config is read from its {@code text_config}. */
    public static Step3Config read(Path configJson) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(configJson, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new ConfigException(configJson + " is not valid JSON: " + e.getOriginalMessage());
        }
        return fromJson(root, configJson.toString());
    }

    /** Parses the config from a JSON tree; {@code source} names it in error messages. */
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
        Reader r = new Reader(c, source);
        int numLayers = r.integer("num_hidden_layers");
        List<Integer> moe = parseLayers(c.path("moe_layers_enum"), numLayers, source);
        List<Integer> eos = idList(c.path("eos_token_id"));
        if (eos.isEmpty() && c != root) {
            eos = idList(root.path("eos_token_id"));
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

    /** A stable hash of the numbers that define the model's math, for handshakes between nodes. */
    public String fingerprint() {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static List<Integer> parseLayers(JsonNode node, int numLayers, String source) {
        List<Integer> layers = new ArrayList<>();
        if (node.isMissingNode() || node.isNull()) {
            // The reference implementations treat every layer but the first as MoE when the key is absent.
            for (int i = 1; i < numLayers; i++) {
                layers.add(i);
            }
            return layers;
        }
        if (node.isArray()) {
            node.forEach(n -> layers.add(n.asInt()));
        } else {
            for (String part : node.asText().split(",")) {
                String p = part.strip();
                if (p.isEmpty()) {
                    continue;
                }
                try {
                    layers.add(Integer.parseInt(p));
                } catch (NumberFormatException e) {
                    throw new ConfigException(source + ": moe_layers_enum has '" + p
                            + "', expected a comma-separated list of layer indices");
                }
            }
        }
        return layers.stream().distinct().sorted().toList();
    }

    private static List<Integer> idList(JsonNode node) {
        List<Integer> ids = new ArrayList<>();
        if (node.isIntegralNumber()) {
            ids.add(node.asInt());
        } else if (node.isArray()) {
            node.forEach(n -> ids.add(n.asInt()));
        }
        return ids;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new ConfigException(message);
        }
    }

    /** Typed access to config keys with messages naming the key and the file. */
    private record Reader(JsonNode node, String source) {
        int integer(String key) {
            JsonNode v = node.path(key);
            if (!v.isIntegralNumber()) {
                throw new ConfigException(source + ": " + key + (v.isMissingNode() ? " is missing" : " must be an integer, got " + v));
            }
            return v.asInt();
        }

        int integer(String key, int fallback) {
            return node.has(key) && !node.path(key).isNull() ? integer(key) : fallback;
        }

        int firstInteger(int fallback, String... keys) {
            for (String k : keys) {
                if (node.has(k) && !node.path(k).isNull()) {
                    return integer(k);
                }
            }
            return fallback;
        }

        double number(String key, double fallback) {
            JsonNode v = node.path(key);
            if (v.isMissingNode() || v.isNull()) {
                return fallback;
            }
            if (!v.isNumber()) {
                throw new ConfigException(source + ": " + key + " must be a number, got " + v);
            }
            return v.asDouble();
        }
    }

    /** A config that cannot describe a Step-3 text model; the message names the key and what to do. */
    public static final class ConfigException extends RuntimeException {
        public ConfigException(String message) {
            super(message);
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
