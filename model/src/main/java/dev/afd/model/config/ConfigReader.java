package dev.afd.model.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed access to the keys of a {@code config.json} object, with messages naming the key and the file; shared by
 * every model family's config.
 *
 * @param node the object whose keys are read
 * @param source the file, for messages
 */
public record ConfigReader(JsonNode node, String source) {
    public int integer(String key) {
        JsonNode v = node.path(key);
        if (!v.isIntegralNumber()) {
            throw new ConfigException(source + ": " + key + (v.isMissingNode() ? " is missing"
                    : " must be an integer, got " + v));
        }
        return v.asInt();
    }

    public int integer(String key, int fallback) {
        return present(key) ? integer(key) : fallback;
    }

    public int firstInteger(int fallback, String... keys) {
        for (String k : keys) {
            if (present(k)) {
                return integer(k);
            }
        }
        return fallback;
    }

    public double number(String key, double fallback) {
        JsonNode v = node.path(key);
        if (v.isMissingNode() || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber()) {
            throw new ConfigException(source + ": " + key + " must be a number, got " + v);
        }
        return v.asDouble();
    }

    public boolean present(String key) {
        return node.has(key) && !node.path(key).isNull();
    }

    /**
     * A layer list given as a JSON array or a comma-separated string ({@code moe_layers_enum}), sorted, duplicates
     * dropped; {@code whenAbsent} when the key is missing.
     */
    public List<Integer> layers(String key, List<Integer> whenAbsent) {
        JsonNode n = node.path(key);
        if (n.isMissingNode() || n.isNull()) {
            return whenAbsent;
        }
        List<Integer> layers = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(e -> layers.add(e.asInt()));
        } else {
            for (String part : n.asText().split(",")) {
                String p = part.strip();
                if (p.isEmpty()) {
                    continue;
                }
                try {
                    layers.add(Integer.parseInt(p));
                } catch (NumberFormatException e) {
                    throw new ConfigException(source + ": " + key + " has '" + p
                            + "', expected a comma-separated list of layer indices");
                }
            }
        }
        return layers.stream().distinct().sorted().toList();
    }

    /** Token ids given as one integer or an array of them; empty when absent. */
    public static List<Integer> ids(JsonNode n) {
        List<Integer> ids = new ArrayList<>();
        if (n.isIntegralNumber()) {
            ids.add(n.asInt());
        } else if (n.isArray()) {
            n.forEach(e -> ids.add(e.asInt()));
        }
        return ids;
    }

    /** Throws a {@link ConfigException} with {@code message} unless {@code condition} holds. */
    public static void require(boolean condition, String message) {
        if (!condition) {
            throw new ConfigException(message);
        }
    }
}
