package dev.afd.model.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.tensor.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON header of a safetensors file: {@code {name: {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 * "__metadata__": {string: string}}}. The file itself is an 8-byte little-endian header length N, the N header
 * bytes, then the data region that the offsets point into.
 *
 * @param tensors entries in header order
 * @param metadata the free-form string map, empty when absent
 */
public record SafetensorsHeader(List<TensorInfo> tensors, Map<String, String> metadata) {
    /** Bytes before the header: its length as a little-endian u64. */
    public static final int PREFIX_BYTES = 8;
    /** The reference implementation refuses headers above 100 MB; so do we, before allocating them. */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    private static final String METADATA_KEY = "__metadata__";
    /** Duplicate keys are an error: silently keeping the last one would hide a corrupt header. */
    private static final ObjectMapper JSON =
            JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    public SafetensorsHeader {
        tensors = List.copyOf(tensors);
        metadata = Map.copyOf(metadata);
    }

    /**
     * Parses and validates a header.
     *
     * @param json the N header bytes
     * @param dataBytes size of the data region (file size - 8 - N); every tensor must lie inside it
     * @param source names the file in error messages
     * @throws CheckpointException naming the file, the tensor and the broken field
     */
    public static SafetensorsHeader parse(byte[] json, long dataBytes, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(new String(json, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new CheckpointException(source + ": the safetensors header is not valid JSON ("
                    + e.getOriginalMessage() + "); the file is corrupt or not a safetensors file");
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(source + ": the safetensors header must be a JSON object, got "
                    + (root == null ? "nothing" : root.getNodeType()));
        }
        List<TensorInfo> tensors = new ArrayList<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(field.getValue(), source);
            } else {
                tensors.add(parseTensor(field.getKey(), field.getValue(), dataBytes, source));
            }
        }
        return new SafetensorsHeader(tensors, metadata);
    }

    private static Map<String, String> parseMetadata(JsonNode node, String source) {
        if (!node.isObject()) {
            throw new CheckpointException(source + ": " + METADATA_KEY + " must be an object of strings, got "
                    + node.getNodeType());
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new CheckpointException(source + ": " + METADATA_KEY + "." + e.getKey()
                        + " must be a string, got " + e.getValue());
            }
            metadata.put(e.getKey(), e.getValue().asText());
        }
        return metadata;
    }

    private static TensorInfo parseTensor(String name, JsonNode node, long dataBytes, String source) {
        String where = source + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new CheckpointException(where + " must be described by an object, got " + node.getNodeType());
        }
        JsonNode dtypeNode = node.path("dtype");
        if (!dtypeNode.isTextual()) {
            throw new CheckpointException(where + " has no \"dtype\" string");
        }
        DType dtype;
        try {
            dtype = DType.fromSafetensors(dtypeNode.asText(), name);
        } catch (DType.UnsupportedDTypeException e) {
            throw new CheckpointException(source + ": " + e.getMessage(), e);
        }
        long[] shape = nonNegativeLongs(node.path("shape"), -1, where, "shape");
        long[] offsets = nonNegativeLongs(node.path("data_offsets"), 2, where, "data_offsets");
        long begin = offsets[0];
        long end = offsets[1];
        if (end < begin) {
            throw new CheckpointException(where + " has data_offsets [" + begin + ", " + end
                    + "]: the end lies before the begin");
        }
        if (end > dataBytes) {
            throw new CheckpointException(where + " has data_offsets [" + begin + ", " + end
                    + "] but the data region holds only " + dataBytes + " bytes; the file is truncated or corrupt");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(info.elementCount(), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new CheckpointException(where + " has an impossibly large shape " + Arrays.toString(shape));
        }
        if (info.byteSize() != expected) {
            throw new CheckpointException(where + " of shape " + Arrays.toString(shape) + " " + dtype + " needs "
                    + expected + " bytes but its data_offsets [" + begin + ", " + end + "] span "
                    + info.byteSize());
        }
        return info;
    }

    /** A JSON array of non-negative integers, of exactly {@code length} entries unless that is negative. */
    private static long[] nonNegativeLongs(JsonNode node, int length, String where, String field) {
        if (!node.isArray() || (length >= 0 && node.size() != length)) {
            throw new CheckpointException(where + " needs \"" + field + "\" as an array of "
                    + (length >= 0 ? length + " " : "") + "non-negative integers, got "
                    + (node.isMissingNode() ? "nothing" : node.toString()));
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 0) {
                throw new CheckpointException(where + " has \"" + field + "\" " + node
                        + "; every entry must be a non-negative integer");
            }
            values[i] = v.asLong();
        }
        return values;
    }

    /**
     * The header as written to a file: UTF-8 JSON padded with spaces so that the data region starts 8-byte aligned
     * (8 + N is a multiple of 8), as the reference writer does.
     */
    public byte[] encode() {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(METADATA_KEY);
            metadata.forEach(meta::put);
        }
        Set<String> seen = new HashSet<>();
        for (TensorInfo t : tensors) {
            if (!seen.add(t.name())) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' appears twice in one file");
            }
            ObjectNode entry = root.putObject(t.name());
            entry.put("dtype", t.dtype().safetensorsCode());
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(t.begin()).add(t.end());
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialize a JSON tree", e);
        }
        int padded = (json.length + 7) & ~7;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }
}
