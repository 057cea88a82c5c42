package dev.afd.model.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.family.CausalLm;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelFamilies;
import dev.afd.model.family.ModelWeights;
import dev.afd.model.ffn.FfnExecutor;
import dev.afd.model.tensor.Tensor;
import dev.afd.model.tensor.TensorSource;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A Hugging Face checkpoint folder: {@code config.json}, optionally {@code generation_config.json}, and the weights
 * in one or more {@code .safetensors} files (listed by {@code model.safetensors.index.json} when sharded).
 *
 * <p>Ownership: one shared arena owns the mapping of every file. Tensors handed out by {@link #find} and
 * {@link #weights()} view those mappings; they may be read from any thread, and become invalid (any access throws)
 * once {@link #close()} unmaps them. Close the checkpoint only after every reader is done.
 */
public final class Checkpoint implements TensorSource, AutoCloseable {
    public static final String CONFIG = "config.json";
    public static final String GENERATION_CONFIG = "generation_config.json";
    public static final String INDEX = "model.safetensors.index.json";
    public static final String SUFFIX = ".safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path directory;
    private final ModelConfig config;
    private final List<Integer> eosTokenIds;
    private final Arena arena;
    private final List<SafetensorsFile> files;
    private final Map<String, Tensor> tensors;
    private ModelWeights weights;

    private Checkpoint(Path directory, ModelConfig config, List<Integer> eosTokenIds, Arena arena,
            List<SafetensorsFile> files, Map<String, Tensor> tensors) {
        this.directory = directory;
        this.config = config;
        this.eosTokenIds = eosTokenIds;
        this.arena = arena;
        this.files = files;
        this.tensors = tensors;
    }

    /**
     * Reads the config and maps every weight file of the checkpoint in {@code dir}.
     *
     * @throws CheckpointException when the folder, its config or its weights are missing or malformed
     * @throws dev.afd.model.config.ConfigException when config.json does not describe a model of a family this
     *     engine serves
     */
    public static Checkpoint open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException(dir + " is not a folder; pass the folder that holds config.json and"
                    + " the .safetensors files");
        }
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new CheckpointException(dir + " has no " + CONFIG + "; a checkpoint folder needs the model's"
                    + " Hugging Face config next to its weights");
        }
        ModelConfig config;
        try {
            config = ModelFamilies.read(configFile);
        } catch (IOException e) {
            throw new CheckpointException(configFile + ": cannot read: " + e, e);
        }
        List<Integer> eos = mergeEos(config.eosTokenIds(), dir.resolve(GENERATION_CONFIG));
        Map<String, Path> index = readIndex(dir);
        List<Path> paths = index == null ? listWeightFiles(dir) : index.values().stream().distinct().sorted().toList();
        Arena arena = Arena.ofShared();
        try {
            List<SafetensorsFile> files = new ArrayList<>();
            LoadProgress progress = LoadProgress.logged("mapping the weights of " + dir, totalSize(paths));
            for (Path p : paths) {
                files.add(SafetensorsFile.map(p, arena));
                progress.advance(files.getLast().byteSize());
            }
            progress.finish();
            Map<String, Tensor> tensors = collect(files);
            if (index != null) {
                checkIndex(index, files);
            }
            return new Checkpoint(dir, config, List.copyOf(eos), arena, List.copyOf(files),
                    Collections.unmodifiableMap(tensors));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The weight files' sizes added up; one that cannot be read counts 0 (mapping it then says why). */
    private static long totalSize(List<Path> paths) {
        long total = 0;
        for (Path p : paths) {
            try {
                total += Files.size(p);
            } catch (IOException e) {
                // counted as 0, see above
            }
        }
        return total;
    }

    /** The eos ids of config.json followed by any further ones generation_config.json names. */
    private static List<Integer> mergeEos(List<Integer> fromConfig, Path generationConfig) {
        LinkedHashSet<Integer> eos = new LinkedHashSet<>(fromConfig);
        if (Files.isRegularFile(generationConfig)) {
            JsonNode ids = readJson(generationConfig).path("eos_token_id");
            if (ids.isIntegralNumber()) {
                eos.add(ids.asInt());
            } else if (ids.isArray()) {
                for (JsonNode id : ids) {
                    if (!id.isIntegralNumber()) {
                        throw new CheckpointException(generationConfig + ": eos_token_id must hold integers, got "
                                + ids);
                    }
                    eos.add(id.asInt());
                }
            } else if (!ids.isMissingNode() && !ids.isNull()) {
                throw new CheckpointException(generationConfig + ": eos_token_id must be an integer or a list of"
                        + " integers, got " + ids);
            }
        }
        return List.copyOf(eos);
    }

    /** The index's tensor-to-file map with files resolved against {@code dir}, or null when there is no index. */
    private static Map<String, Path> readIndex(Path dir) {
        Path indexFile = dir.resolve(INDEX);
        if (!Files.isRegularFile(indexFile)) {
            return null;
        }
        JsonNode weightMap = readJson(indexFile).path("weight_map");
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointException(indexFile + ": needs a non-empty \"weight_map\" object mapping each"
                    + " tensor name to its .safetensors file");
        }
        Map<String, Path> index = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
            String tensor = e.getKey();
            if (!e.getValue().isTextual()) {
                throw new CheckpointException(indexFile + ": weight_map entry for tensor '" + tensor
                        + "' must be a file name, got " + e.getValue());
            }
            Path file = dir.resolve(e.getValue().asText()).normalize();
            if (!Files.isRegularFile(file)) {
                throw new CheckpointException(INDEX + " maps tensor '" + tensor + "' to " + e.getValue().asText()
                        + ", which does not exist in " + dir + "; the download is incomplete");
            }
            index.put(tensor, file);
        }
        return index;
    }

    private static List<Path> listWeightFiles(Path dir) {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(SUFFIX) && Files.isRegularFile(p))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot list the folder: " + e, e);
        }
        if (files.isEmpty()) {
            throw new CheckpointException(dir + " has no .safetensors files (and no " + INDEX
                    + "); the weights are missing");
        }
        return files;
    }

    /** Every tensor of every file by name; a name in two files is an error naming both. */
    private static Map<String, Tensor> collect(List<SafetensorsFile> files) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, Path> owner = new HashMap<>();
        for (SafetensorsFile f : files) {
            for (Map.Entry<String, Tensor> e : f.tensors().entrySet()) {
                Path previous = owner.putIfAbsent(e.getKey(), f.path());
                if (previous != null) {
                    throw new CheckpointException("tensor '" + e.getKey() + "' is stored twice, in " + previous
                            + " and in " + f.path() + "; remove the stale file");
                }
                tensors.put(e.getKey(), e.getValue());
            }
        }
        return tensors;
    }

    private static void checkIndex(Map<String, Path> index, List<SafetensorsFile> files) {
        Map<Path, SafetensorsFile> byPath = new HashMap<>();
        files.forEach(f -> byPath.put(f.path(), f));
        for (Map.Entry<String, Path> e : index.entrySet()) {
            if (!byPath.get(e.getValue()).tensors().containsKey(e.getKey())) {
                throw new CheckpointException(INDEX + " lists tensor '" + e.getKey() + "' in " + e.getValue()
                        + ", but that file does not contain it; the index and the shards do not match");
            }
        }
    }

    private static JsonNode readJson(Path file) {
        try {
            JsonNode root = JSON.readTree(Files.readString(file));
            if (root == null || !root.isObject()) {
                throw new CheckpointException(file + ": expected a JSON object");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw new CheckpointException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e, e);
        }
    }

    public Path directory() {
        return directory;
    }

    public ModelConfig config() {
        return config;
    }

    /** Every end-of-sequence id: those of config.json, then the extra ones of generation_config.json. */
    public List<Integer> eosTokenIds() {
        return eosTokenIds;
    }

    /** The mapped weight files, in load order. */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** Total size of the mapped files. */
    public long byteSize() {
        return files.stream().mapToLong(SafetensorsFile::byteSize).sum();
    }

    @Override
    public Tensor find(String name) {
        return tensors.get(name);
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    /**
     * Every weight of the model, bound by its family ({@link ModelConfig#bind}) from this checkpoint's tensors on first
     * call.
     * The binding is the model's business; this reader only names the folder in the message when it fails.
     *
     * @throws CheckpointException naming the folder and the first missing or mis-shaped tensor
     */
    public synchronized ModelWeights weights() {
        if (weights == null) {
            try {
                weights = config.bind(this);
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(directory + ": " + e.getMessage(), e);
            }
        }
        return weights;
    }

    /** The model's forward pass over {@link #weights()}, each layer's FFN half computed by {@code ffn}. */
    public CausalLm model(FfnExecutor ffn) {
        return config.model(weights(), ffn);
    }

    /** Unmaps every file; tensors obtained from this checkpoint are invalid afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}
