package dev.afd.cli;

import dev.afd.attention.ffn.ExchangeStats;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.bench.AfdBench;
import dev.afd.bench.DecodeBench;
import dev.afd.bench.GrpcFloor;
import dev.afd.bench.KernelBench;
import dev.afd.bench.ResultTable;
import dev.afd.bench.SpeculativeBench;
import dev.afd.model.family.CausalLm;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import io.netty.channel.epoll.Epoll;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code afd bench}: benchmarks that print every figure next to its roofline or a peer measured in the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.Kernels.class, BenchCommand.Afd.class, BenchServeCommand.class,
                BenchPathsCommand.class, BenchSlidingKvCommand.class})
final class BenchCommand {

    /** {@code afd bench kernels}: matmul against memory bandwidth and numpy, decode against its roofline. */
    @Command(name = "kernels", mixinStandardHelpOptions = true,
            description = "CPU kernels on the model's matrix shapes, and end-to-end decode, next to their rooflines.")
    static final class Kernels implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        BenchTarget target;

        @Option(names = "--rows", split = ",", defaultValue = "64,256",
                description = "Row counts for the many-row matmul (default: ${DEFAULT-VALUE}).")
        int[] rows;

        @Option(names = "--batches", split = ",", defaultValue = "1,16",
                description = "Decode batch sizes (default: ${DEFAULT-VALUE}).")
        int[] batches;

        @Option(names = "--steps", defaultValue = "32", description = "Timed decode steps per batch size (default: ${DEFAULT-VALUE}).")
        int steps;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            try (Checkpoint checkpoint = target.open(out)) {
                ModelConfig c = checkpoint.config();
                // The model decodes first, so the JIT compiles its kernels for the model's weights alone, as in a
                // server (after the synthetic matmuls below, batch 1 measured about 15% slower).
                CausalLm model = checkpoint.model(new LocalFfn(checkpoint.weights()));
                List<DecodeBench.Result> decodes = new ArrayList<>();
                for (int batch : batches) {
                    out.println("decoding at batch " + batch + " ...");
                    out.flush();
                    decodes.add(DecodeBench.run(model, batch, 16, steps));
                }
                out.println("measuring kernels on " + shapes(c).size() + " shapes of " + target.model + " ...");
                out.flush();
                KernelBench.Report kernels = KernelBench.run(shapes(c), rows);
                double bandwidth = kernels.bandwidth().best();
                ResultTable table = new ResultTable("afd bench kernels")
                        .environment("model", target.model.toString())
                        .environment("kernel threads", kernels.threads())
                        .environment("vector bits", kernels.vectorBits())
                        .environment("memory read bandwidth GB/s (copy / numpy matvec)", String.format(
                                java.util.Locale.ROOT, "%.1f / %.1f", kernels.bandwidth().copyGbPerSecond(),
                                kernels.bandwidth().numpyMatvecGbPerSecond()));
                for (KernelBench.DecodeResult d : kernels.decode()) {
                    table.add(new ResultTable.Row("one-row matmul bf16", d.shape().toString(), d.gbPerSecond(), "GB/s",
                            "memory read bandwidth", bandwidth, 0.8));
                }
                for (KernelBench.GemmResult g : kernels.gemm()) {
                    table.add(new ResultTable.Row("many-row matmul bf16", g.shape() + " x " + g.rows() + " rows",
                            g.gflops(), "GFLOP/s", "numpy sgemm (f32)", g.numpyGflops(), 0.5));
                }
                if (kernels.numpyNote() != null) {
                    table.note(kernels.numpyNote());
                }
                for (DecodeBench.Result d : decodes) {
                    table.add(new ResultTable.Row("decode tokens/s", "batch " + d.batch(), d.tokensPerSecond(),
                            "tok/s", "bandwidth roofline (" + d.bytesPerStep() / 1_000_000 + " MB/step)",
                            d.rooflineTokensPerSecond(bandwidth * 1e9), d.batch() == 1 ? 0.7 : Double.NaN));
                }
                table.note("one-row matmul reads weights spread over 1 GiB so every call streams from memory");
                table.note("decode roofline: weight bytes one step reads (routed experts: expected distinct experts "
                        + "under uniform routing) / measured read bandwidth");
                Path md = table.write(target.resultDir, "kernels");
                out.println(table.toMarkdown());
                out.println("written: " + md + " and kernels.json");
            }
            return 0;
        }

        /** The distinct linear-layer shapes of the model, plus lm_head. */
        static List<KernelBench.Shape> shapes(ModelConfig c) {
            return c.linearShapes().stream().map(l -> new KernelBench.Shape(l.rows(), l.cols())).toList();
        }
    }

    /** The model a benchmark runs on and where its results go. */
    static final class BenchTarget {
        @Option(names = "--model", defaultValue = "models/small",
                description = "Checkpoint folder; the small preset is generated there when missing (default: ${DEFAULT-VALUE}).")
        Path model;

        @Option(names = "--result-dir", defaultValue = "benchmarks/results",
                description = "Where the JSON and markdown results go (default: ${DEFAULT-VALUE}).")
        Path resultDir;

        /** Opens the model, first generating the small preset into the folder when it has no checkpoint yet. */
        Checkpoint open(PrintWriter out) throws java.io.IOException {
            if (!Files.exists(model.resolve("config.json"))) {
                out.println("generating the small model in " + model + " ...");
                out.flush();
                ModelGenerator.generate(ModelPreset.SMALL.config(false), ModelGenerator.Options.defaults(), model);
            }
            return Checkpoint.open(model);
        }
    }

    /** {@code afd bench afd}: single process against disaggregated without and with micro-batch pipelining. */
    @Command(name = "afd", mixinStandardHelpOptions = true,
            description = "Decode throughput single-process vs disaggregated (m=1, and pipelined m=2,3) on shared"
                    + " cores and with one core per side, with per-layer exchange latency and bytes on the wire.")
    static final class Afd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        BenchTarget target;

        @Option(names = "--batches", split = ",", defaultValue = "1,16,64", description = "Decode batch sizes (default: ${DEFAULT-VALUE}).")
        int[] batches;

        @Option(names = "--micro-batches", split = ",", defaultValue = "2,3", description = "Pipelined micro-batch counts besides m=1 (default: ${DEFAULT-VALUE}).")
        int[] microBatches;

        @Option(names = "--steps", defaultValue = "16", description = "Timed decode steps per run, at least; every run also lasts at least 2 s (default: ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--wire-dtype", defaultValue = "bf16", description = "Activations to ffn-nodes: f32, bf16 or fp8 (default: ${DEFAULT-VALUE}).")
        String wireDtype;

        @Option(names = "--speculative-tokens", split = ",", defaultValue = "0,1,2,3",
                description = "Speculative decoding runs at batch 1 through the engine, K drafts per step; 0 is plain"
                        + " decoding, the peer of the others (default: ${DEFAULT-VALUE}).")
        int[] speculativeTokens;

        @Option(names = "--speculative-method", defaultValue = "ngram",
                description = "Where the speculative runs' drafts come from: ngram, or mtp (the model's MTP layers;"
                        + " a step3p5 model, best the make-model --mtp-agreeing fixture). Default: ${DEFAULT-VALUE}.")
        String speculativeMethod;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            try (Checkpoint checkpoint = target.open(out)) {
                Consumer<String> progress = step -> {
                    out.println("measuring " + step + " ...");
                    out.flush();
                };
                List<AfdBench.Run> runs = AfdBench.run(checkpoint, batches, microBatches, steps,
                        WireDtypes.request(wireDtype), DecodeBench.Timing.DEFAULT, progress);
                SpeculativeConfig.Method method = SpeculativeConfig.Method.parse(speculativeMethod);
                List<SpeculativeBench.Result> speculative = SpeculativeBench.run(checkpoint, speculativeTokens, method,
                        WireDtypes.request(wireDtype), DecodeBench.Timing.DEFAULT, progress);
                String drafts = method == SpeculativeConfig.Method.MTP ? "MTP drafts" : "n-gram drafts";
                ResultTable table = new ResultTable("afd bench afd")
                        .environment("model", target.model.toString())
                        .environment("wire", wireDtype + " to ffn, bf16 back, real gRPC on loopback")
                        .environment("transport", Epoll.isAvailable() ? "native epoll" : "NIO (no native epoll here)");
                for (AfdBench.Run r : runs) {
                    double single = runs.stream().filter(x -> x.mode().equals("single process") && x.batch() == r.batch())
                            .mapToDouble(AfdBench.Run::tokensPerSecond).findFirst().orElse(Double.NaN);
                    boolean targeted = r.batch() == 64 && r.pipelined();
                    table.add(new ResultTable.Row("decode tokens/s, " + r.mode(), "batch " + r.batch(),
                            r.tokensPerSecond(), "tok/s", "single process", single, targeted ? 0.9 : Double.NaN));
                }
                for (AfdBench.Run r : runs) {
                    table.add(new ResultTable.Row("cores busy, " + r.mode(), "batch " + r.batch(), r.coresBusy(),
                            "cores", "cores here", Runtime.getRuntime().availableProcessors(), Double.NaN));
                }
                for (AfdBench.Run r : runs) {
                    ExchangeStats.Snapshot e = r.exchange();
                    if (e != null) {
                        String overhead = " (a node's part, its compute taken out), ";
                        Map<String, Double> micros = new LinkedHashMap<>();
                        micros.put("layer exchange p50, ", e.p50Micros());
                        micros.put("layer exchange p99, ", e.p99Micros());
                        micros.put("exchange overhead p50" + overhead, e.overheadP50Micros());
                        micros.put("exchange overhead p99" + overhead, e.overheadP99Micros());
                        micros.forEach((name, us) -> table.add(new ResultTable.Row(name + r.mode(),
                                "batch " + r.batch(), us, "µs", "", Double.NaN, Double.NaN)));
                        table.add(new ResultTable.Row("bytes on the wire per token, " + r.mode(), "batch " + r.batch(),
                                r.wireBytesPerToken(), "B", "", Double.NaN, Double.NaN));
                    }
                    GrpcFloor.Result f = r.floor();
                    if (f != null) {
                        // As shares, so that "at most 2x (4x) the floor" reads as a ratio of at least 50% (25%).
                        String sizes = "batch " + r.batch() + ", " + f.requestBytes() + " B out, " + f.responseBytes()
                                + " B back";
                        table.add(new ResultTable.Row("gRPC floor p50 as a share of the exchange overhead p50",
                                sizes, f.p50Micros(), "µs", "overhead p50, " + r.mode(), e.overheadP50Micros(), 0.5));
                        table.add(new ResultTable.Row("gRPC floor p99 as a share of the exchange overhead p99",
                                sizes, f.p99Micros(), "µs", "overhead p99, " + r.mode(), e.overheadP99Micros(), 0.25));
                    }
                }
                double plain = speculative.stream().filter(r -> r.draftTokens() == 0)
                        .mapToDouble(SpeculativeBench.Result::tokensPerSecond).findFirst().orElse(Double.NaN);
                for (SpeculativeBench.Result r : speculative) {
                    table.add(new ResultTable.Row("decode tokens/s, engine, disaggregated m=1, " + drafts + " K="
                            + r.draftTokens(), "batch 1", r.tokensPerSecond(), "tok/s", "K=0", plain, Double.NaN));
                    if (r.draftTokens() > 0) {
                        table.add(new ResultTable.Row("drafts accepted, K=" + r.draftTokens(), "batch 1",
                                100 * r.acceptanceRate(), "%", "", Double.NaN, Double.NaN));
                        for (int p = 0; p < r.draftTokens(); p++) {
                            table.add(new ResultTable.Row("drafts accepted at position " + (p + 1) + ", K="
                                    + r.draftTokens(), "batch 1", 100 * r.acceptanceRate(p), "%", "", Double.NaN,
                                    Double.NaN));
                        }
                    }
                }
                table.note("speculative decoding K=N: the whole engine (scheduler, paged KV, each step verifying the"
                        + " sequence's last token and up to N " + (method == SpeculativeConfig.Method.MTP
                                ? "drafts from the model's MTP layers, run on the attention node's CPU"
                                : "n-gram drafts, lookup of 1-3 tokens") + ") over the"
                        + " disaggregated m=1 deployment, one greedy request of " + SpeculativeBench.MAX_TOKENS
                        + " tokens at a time; the prompt repeats a random " + SpeculativeBench.MOTIF + "-token motif "
                        + SpeculativeBench.REPEATS + " times, a best case for prompt lookup; decode tokens/s from"
                        + " first token to last");
                table.note("single process m=N: one process, each step split into the N micro-batches the pipeline"
                        + " uses, no wire: what the split alone costs (each micro-batch reads the routed experts it"
                        + " touches again)");
                table.note("disaggregated m=N: two ffn-nodes (half of the experts each) in this JVM behind real gRPC"
                        + " servers on loopback; attention and ffn-nodes share all cores, so the pipeline can only fill"
                        + " idle time, not add hardware (m=1: no pipelining)");
                table.note("gRPC floor: the same Exchange stream over loopback with the project's settings, in this JVM,"
                        + " its server answering each frame at once; frames of the run's mean sizes per node part."
                        + " Overhead: a node's part of an exchange, send to answer, minus the node's own time on it"
                        + " (reported in each result). Targets: overhead p50 <= 2x and p99 <= 4x the floor");
                table.note("one core per side m=N: one ffn-node with every expert; the attention engine and the"
                        + " ffn-node each run their kernels on one thread, as if each side had its own core");
                Path md = table.write(target.resultDir, "afd");
                out.println(table.toMarkdown());
                out.println("written: " + md + " and afd.json");
            }
            return 0;
        }
    }
}
