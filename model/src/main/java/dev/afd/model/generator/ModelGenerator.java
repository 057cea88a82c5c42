package dev.afd.model.generator;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.safetensors.SafetensorsWriter;
import dev.afd.model.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes a random-weight Step-3 checkpoint folder in the Hugging Face layout: config.json, generation_config.json,
 * the weights as safetensors (optionally sharded, with the index), tokenizer.json and tokenizer_config.json. The
 * same config and options always produce byte-identical files. See {@link WeightPlan} for how values are drawn.
 */
public final class ModelGenerator {
    private ModelGenerator() {}

    /**
     * How to write the checkpoint.
     *
     * @param seed drives every weight; the same seed gives the same bytes
     * @param dtype storage type of every tensor
     * @param shards number of weight files (1: a single {@code model.safetensors} without index)
     * @param overwrite whether a non-empty folder may be written into; the files a checkpoint consists of are then
     *     replaced and any other file is left alone
     * @param mtpAgreeing draw the weights so that the MTP layers agree with the main model, a benchmark fixture for
     *     speculative decoding with MTP drafts (see {@link WeightPlan}); only for layouts with MTP layers
     */
    public record Options(long seed, DType dtype, int shards, boolean overwrite, boolean mtpAgreeing) {
        public static final long DEFAULT_SEED = 42;

        public Options {
            if (shards < 1) {
                throw new IllegalArgumentException("shards must be at least 1, got " + shards);
            }
        }

        /** Plain random weights. */
        public Options(long seed, DType dtype, int shards, boolean overwrite) {
            this(seed, dtype, shards, overwrite, false);
        }

        /** These options with MTP layers that agree with the main model. */
        public Options withMtpAgreeing() {
            return new Options(seed, dtype, shards, overwrite, true);
        }

        /** Seed 42, bf16, one file, no overwriting. */
        public static Options defaults() {
            return new Options(DEFAULT_SEED, DType.BF16, 1, false);
        }
    }

    /**
     * What was written.
     *
     * @param directory the checkpoint folder
     * @param parameterCount weights over all tensors
     * @param weightBytes bytes of tensor data (without headers)
     * @param files every file written
     */
    public record Result(Path directory, long parameterCount, long weightBytes, List<Path> files) {
        public Result {
            files = List.copyOf(files);
        }
    }

    /** Parameters of a checkpoint with config {@code c}. */
    public static long parameterCount(ModelConfig c) {
        return WeightPlan.entries(c, DType.BF16, 0).stream().mapToLong(SafetensorsWriter.Entry::elementCount).sum();
    }

    /**
     * Writes the checkpoint for {@code c} into {@code dir} (created if needed). The special-token ids in the written
     * configs are those of the generated tokenizer: the last four ids of the vocabulary.
     *
     * @throws IllegalArgumentException when {@code dir} is not empty and {@code options.overwrite()} is false, or
     *     the options ask for MTP-agreeing weights and {@code c} has no MTP layers
     */
    public static Result generate(ModelConfig c, Options options, Path dir) throws IOException {
        List<SafetensorsWriter.Entry> entries = WeightPlan.entries(c, options.dtype(), options.seed(),
                options.mtpAgreeing());
        prepare(dir, options.overwrite());
        List<Path> files = new ArrayList<>(HfConfigFiles.write(dir, c, options.dtype()));
        files.addAll(TokenizerFiles.write(dir, c.vocabSize(), c.maxPositions()));
        files.addAll(SafetensorsWriter.writeCheckpoint(dir, entries, options.shards()));
        long parameters = entries.stream().mapToLong(SafetensorsWriter.Entry::elementCount).sum();
        long bytes = entries.stream().mapToLong(SafetensorsWriter.Entry::byteSize).sum();
        return new Result(dir, parameters, bytes, files);
    }

    private static void prepare(Path dir, boolean overwrite) throws IOException {
        Files.createDirectories(dir);
        List<Path> existing;
        try (Stream<Path> s = Files.list(dir)) {
            existing = s.toList();
        }
        if (existing.isEmpty()) {
            return;
        }
        if (!overwrite) {
            throw new IllegalArgumentException(dir + " is not empty; choose an empty folder or allow overwriting");
        }
        // Stale shards of an earlier run would be loaded next to the new weights, so every checkpoint file goes.
        for (Path p : existing) {
            if (isCheckpointFile(p.getFileName().toString()) && Files.isRegularFile(p)) {
                Files.delete(p);
            }
        }
    }

    private static boolean isCheckpointFile(String name) {
        return name.endsWith(Checkpoint.SUFFIX) || name.equals(Checkpoint.INDEX) || name.equals(Checkpoint.CONFIG)
                || name.equals(Checkpoint.GENERATION_CONFIG) || name.equals(TokenizerFiles.TOKENIZER)
                || name.equals(TokenizerFiles.TOKENIZER_CONFIG);
    }
}
