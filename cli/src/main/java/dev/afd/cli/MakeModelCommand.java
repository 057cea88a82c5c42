package dev.afd.cli;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code afd make-model}: writes a random-weight Step-3 checkpoint folder for tests, demos and benchmarks. */
@Command(
        name = "make-model",
        mixinStandardHelpOptions = true,
        description = "Writes a random-weight Step-3 or Step-3.5 checkpoint (config, safetensors weights, tokenizer)"
                + " in the Hugging Face layout. The same options always give byte-identical files.")
final class MakeModelCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--preset", defaultValue = "tiny", paramLabel = "tiny|small|step3p5-tiny|step3p5-small",
            description = "Model shape: tiny (0.27 M parameters, for unit tests) or small (~0.47 B parameters,"
                    + " Step-3 proportions); step3p5-tiny (for unit tests: sliding window 16, one MTP layer) or"
                    + " step3p5-small (Step-3.5-Flash proportions, window 128, 3 MTP layers). Default: ${DEFAULT-VALUE}.")
    private String preset;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Folder to write the checkpoint into (created if missing). Required; no default.")
    private Path out;

    @Option(names = "--seed", defaultValue = "" + ModelGenerator.Options.DEFAULT_SEED,
            description = "Seed of the random weights. Default: ${DEFAULT-VALUE}.")
    private long seed;

    @Option(names = "--shards", defaultValue = "1",
            description = "Number of .safetensors files; more than 1 also writes model.safetensors.index.json."
                    + " Default: ${DEFAULT-VALUE}.")
    private int shards;

    @Option(names = "--dtype", defaultValue = "bf16", paramLabel = "bf16|f16|f32",
            description = "Storage type of the weights. Default: ${DEFAULT-VALUE}.")
    private String dtype;

    @Option(names = "--norm-expert-weight", defaultValue = "false",
            description = "Set norm_expert_weight in config.json (renormalise top-k expert weights)."
                    + " Default: ${DEFAULT-VALUE}.")
    private boolean normExpertWeight;

    @Option(names = "--mtp-agreeing", defaultValue = "false",
            description = "A benchmark fixture for speculative decoding with --speculative-method mtp (step3p5 presets"
                    + " only): output projections scaled down so that each token's successor is nearly a function of"
                    + " the token, and MTP layers that pass the embedding through to the main model's head, so that"
                    + " MTP drafts are often accepted (random weights accept almost none). Default: ${DEFAULT-VALUE}.")
    private boolean mtpAgreeing;

    @Option(names = "--force", defaultValue = "false",
            description = "Write into a non-empty folder, replacing the checkpoint files in it."
                    + " Default: ${DEFAULT-VALUE}.")
    private boolean force;

    @Override
    public Integer call() throws IOException {
        ModelConfig config = ModelPreset.parse(preset).config(normExpertWeight);
        ModelGenerator.Options plain = new ModelGenerator.Options(seed, DType.parse(dtype), shards, force);
        ModelGenerator.Options options = mtpAgreeing ? plain.withMtpAgreeing() : plain;
        if (!force && isNonEmptyFolder(out)) {
            throw new IllegalArgumentException(out + " is not empty; pass --force to replace the checkpoint files"
                    + " in it, or choose another --out");
        }
        PrintWriter w = spec.commandLine().getOut();
        w.printf(Locale.ROOT, "writing %s model (%,d parameters, %s) to %s%n", preset,
                ModelGenerator.parameterCount(config), options.dtype().name().toLowerCase(Locale.ROOT), out);
        w.flush();
        long start = System.nanoTime();
        ModelGenerator.Result r = ModelGenerator.generate(config, options, out);
        double seconds = (System.nanoTime() - start) / 1e9;
        for (Path f : r.files()) {
            w.printf(Locale.ROOT, "  %-40s %,15d bytes%n", f.getFileName(), Files.size(f));
        }
        w.printf(Locale.ROOT, "wrote %s: %,d parameters, %,d bytes of weights in %d file(s), %.1f s%n",
                r.directory(), r.parameterCount(), r.weightBytes(), shards, seconds);
        return 0;
    }

    private static boolean isNonEmptyFolder(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isPresent();
        }
    }
}
