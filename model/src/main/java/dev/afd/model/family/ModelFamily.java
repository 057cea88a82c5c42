package dev.afd.model.family;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * A family of models served by this engine: the {@code model_type}s it reads and how it reads their config. What the
 * family computes differently (attention variant, norms, router, clamps) lives in its own package behind
 * {@link ModelConfig}.
 */
public interface ModelFamily {
    /** The {@code model_type} values of {@code config.json} this family serves. */
    List<String> modelTypes();

    /**
     * Parses {@code config.json}'s tree; {@code source} names the file in error messages.
     *
     * @throws dev.afd.model.config.ConfigException naming the key that is wrong
     */
    ModelConfig read(JsonNode root, String source);
}
