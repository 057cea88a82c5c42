package dev.afd.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.gateway.openai.SamplingDefaults;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelFamilies;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What the gateway needs to know of the model it serves, read from the model folder's {@code config.json} and
 * {@code generation_config.json} (no weights are opened).
 *
 * @param name the name clients use in {@code model}
 * @param maxModelLen context length in tokens (prompt plus output)
 * @param vocabSize valid token ids are {@code [0, vocabSize)}
 * @param eosIds ids that end generation (config.json's and generation_config.json's)
 * @param fingerprint the model's fingerprint; attention nodes must report the same one
 * @param defaults sampling values for fields a request leaves out
 */
public record ModelInfo(String name, int maxModelLen, int vocabSize, Set<Integer> eosIds, String fingerprint,
        SamplingDefaults defaults) {
    public static final String CONFIG = "config.json";
    public static final String GENERATION_CONFIG = "generation_config.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    public ModelInfo {
        eosIds = Set.copyOf(eosIds);
    }

    /**
     * @param servedName the name to serve under, or null for the folder's name
     * @throws IOException when a file is missing or unreadable, naming it
     */
    public static ModelInfo read(Path dir, String servedName) throws IOException {
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new IOException(dir + " has no " + CONFIG + "; --model must be a model folder");
        }
        ModelConfig c = ModelFamilies.read(configFile);
        Set<Integer> eos = new LinkedHashSet<>(c.eosTokenIds());
        SamplingDefaults defaults = SamplingDefaults.neutral();
        Path generationFile = dir.resolve(GENERATION_CONFIG);
        if (Files.isRegularFile(generationFile)) {
            JsonNode g;
            try {
                g = JSON.readTree(generationFile.toFile());
            } catch (IOException e) {
                throw new IOException(generationFile + " is not valid JSON: " + e.getMessage(), e);
            }
            JsonNode ids = g.path("eos_token_id");
            if (ids.isInt()) {
                eos.add(ids.asInt());
            }
            ids.forEach(id -> eos.add(id.asInt()));
            SamplingDefaults n = SamplingDefaults.neutral();
            defaults = new SamplingDefaults(g.path("temperature").asDouble(n.temperature()),
                    g.path("top_p").asDouble(n.topP()), g.path("top_k").asInt(n.topK()),
                    g.path("min_p").asDouble(n.minP()), g.path("repetition_penalty").asDouble(n.repetitionPenalty()));
        }
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return new ModelInfo(servedName != null ? servedName : name == null ? "model" : name.toString(),
                c.maxPositions(), c.vocabSize(), eos, c.fingerprint(), defaults);
    }
}
