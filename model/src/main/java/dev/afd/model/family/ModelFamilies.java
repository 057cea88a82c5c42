package dev.afd.model.family;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.config.ConfigException;
import dev.afd.model.step3.Step3Family;
import dev.afd.model.step3p5.Step3p5Family;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The registry of model families, keyed by {@code config.json}'s {@code model_type}. A config without a
 * {@code model_type} is read as Step-3 (the engine's first family, whose early configs omitted it). Adding a family
 * means adding its package and one entry here.
 */
public final class ModelFamilies {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<ModelFamily> FAMILIES = List.of(new Step3Family(), new Step3p5Family());

    private ModelFamilies() {}

    /** Reads {@code config.json} with the family its {@code model_type} names. */
    public static ModelConfig read(Path configJson) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(configJson, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new ConfigException(configJson + " is not valid JSON: " + e.getOriginalMessage());
        }
        return fromJson(root, configJson.toString());
    }

    /** Parses a config tree with the family its {@code model_type} names; {@code source} names it in errors. */
    public static ModelConfig fromJson(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new ConfigException(source + ": expected a JSON object");
        }
        String modelType = root.path("model_type").asText("");
        for (ModelFamily family : FAMILIES) {
            if (modelType.isEmpty() ? family == FAMILIES.getFirst() : family.modelTypes().contains(modelType)) {
                return family.read(root, source);
            }
        }
        throw new ConfigException(source + ": model_type is '" + modelType + "'; this engine serves "
                + String.join(", ", FAMILIES.stream().flatMap(f -> f.modelTypes().stream()).toList())
                + " checkpoints");
    }
}
