package dev.afd.cli;

import dev.afd.bench.SlidingKvBench;
import dev.afd.model.safetensors.Checkpoint;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code afd bench sliding-kv}: one long sequence's KV blocks per group over time. */
@Command(name = "sliding-kv", mixinStandardHelpOptions = true,
        description = "Decodes one long greedy sequence through the engine and prints its KV blocks per group"
                + " (full attention, sliding window) as it grows.")
final class BenchSlidingKvCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BenchCommand.BenchTarget target;

    @Option(names = "--prompt", defaultValue = "16", description = "Prompt tokens (default: ${DEFAULT-VALUE}).")
    int prompt;

    @Option(names = "--tokens", defaultValue = "512", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--every", defaultValue = "32", description = "Print a row every this many tokens (default: ${DEFAULT-VALUE}).")
    int every;

    @Option(names = "--kv-memory-mb", defaultValue = "64", description = "KV memory of the engine (default: ${DEFAULT-VALUE}).")
    long kvMemoryMb;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        SlidingKvBench.Result r;
        String model;
        try (Checkpoint checkpoint = target.open(out)) {
            model = target.model.getFileName() + " (per-layer windows, 0 for full attention: "
                    + Arrays.toString(checkpoint.config().kvLayout().windows()) + ")";
            r = SlidingKvBench.run(checkpoint, prompt, tokens, kvMemoryMb << 20);
        }
        StringBuilder md = new StringBuilder("# Sliding-window KV: blocks per group over one long sequence\n\n");
        md.append("`afd bench sliding-kv --model ").append(target.model.getFileName()).append(" --prompt ")
                .append(prompt).append(" --tokens ").append(tokens).append("`, ").append(LocalDate.now())
                .append(": model ").append(model).append(", blocks of 16 positions, BF16; one greedy request, the"
                        + " engine's load read at every token.\n\n");
        md.append("| tokens generated | positions cached |");
        for (String g : r.groups()) {
            md.append(' ').append(g).append(" blocks | ").append(g).append(" KiB |");
        }
        md.append("\n|---|---|").append("---|---|".repeat(r.groups().size())).append('\n');
        for (SlidingKvBench.Point p : r.points()) {
            if (p.generated() == 0 || (p.generated() % every != 0 && p != r.points().getLast())) {
                continue;
            }
            md.append("| ").append(p.generated()).append(" | ").append(p.positions()).append(" |");
            for (int g = 0; g < r.groups().size(); g++) {
                md.append(' ').append(p.blocks()[g]).append(" | ").append(p.bytes()[g] >> 10).append(" |");
            }
            md.append('\n');
        }
        SlidingKvBench.Point last = r.points().getLast();
        long held = Arrays.stream(last.bytes()).sum();
        md.append(String.format(Locale.ROOT, "%nAt the end: %d KiB held; %d KiB if every slot kept every position"
                + " (%.2fx).%n", held >> 10, r.withoutDropping() >> 10, (double) r.withoutDropping() / held));
        out.print(md);
        Files.createDirectories(target.resultDir);
        Path file = target.resultDir.resolve("sliding-kv.md");
        Files.writeString(file, md);
        out.println("written: " + file);
        return 0;
    }
}
