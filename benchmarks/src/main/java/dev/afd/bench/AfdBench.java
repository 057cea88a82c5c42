package dev.afd.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.ffn.DisaggregatedFfn;
import dev.afd.attention.ffn.ExchangeStats;
import dev.afd.attention.ffn.FfnLink;
import dev.afd.attention.ffn.GrpcFfnLink;
import dev.afd.ffn.FfnServer;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.core.ExpertSet;
import dev.afd.ffn.core.FfnBackend;
import dev.afd.model.family.CausalLm;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.kernels.Parallel;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.proto.WireDtype;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Decode throughput of one model on this machine, in these modes:
 *
 * <ul>
 *   <li>{@code single process}: the FFN computed in place, every kernel on all cores (the peer of every other row);
 *   <li>{@code single process m=N}: the same, with each step split into the micro-batches the pipeline would use,
 *       and no wire: what the split alone costs;
 *   <li>{@code disaggregated m=N}: two ffn-nodes, each with half of the experts, behind real gRPC servers on loopback;
 *       the attention side and the nodes share all cores (m = 1 is no pipelining);
 *   <li>{@code one core per side m=N}: one ffn-node with every expert; the attention engine and the node each run
 *       their kernels on their own thread alone, so each side has one core, as if on separate hardware.
 * </ul>
 *
 * The single process and each deployment first decode one discarded run: without it the first measured run still
 * paid for compiling (at batch 1, m=1 measured 10-40% below m=2 and m=3, which do the same work there).
 */
public final class AfdBench {
    /**
     * One configuration's figures.
     *
     * @param mode one of the modes above, e.g. "disaggregated m=2"
     * @param batch sequences decoding together
     * @param microBatches m
     * @param tokensPerSecond decode tokens per second
     * @param coresBusy process CPU time over wall time while timed (2.0 = both cores of this machine busy)
     * @param exchange per-layer exchange latency and bytes (null without a wire)
     */
    /**
     * @param floor for disaggregated m=1 runs: the gRPC round trip of frames of the run's mean sizes, the floor its
     *     exchange overhead is compared with (null for other runs)
     */
    public record Run(String mode, int batch, int microBatches, double tokensPerSecond, double coresBusy,
            ExchangeStats.Snapshot exchange, long decodedTokens, GrpcFloor.Result floor) {
        /** Bytes on the wire (both directions) per decoded token. */
        public double wireBytesPerToken() {
            return exchange == null ? 0 : (double) (exchange.bytesSent() + exchange.bytesReceived()) / decodedTokens;
        }

        public boolean pipelined() {
            return exchange != null && microBatches > 1;
        }
    }

    private AfdBench() {}

    /**
     * @param microBatches the pipelined micro-batch counts to measure besides m = 1
     * @param steps timed decode steps per run, at least
     * @param timing warm-up and least timed duration of every run
     * @param progress told before each run
     */
    public static List<Run> run(Checkpoint checkpoint, int[] batches, int[] microBatches, int steps, WireDtype wire,
            DecodeBench.Timing timing, Consumer<String> progress) throws IOException, InterruptedException {
        ModelConfig c = checkpoint.config();
        int[] ms = new int[microBatches.length + 1];
        ms[0] = 1;
        System.arraycopy(microBatches, 0, ms, 1, microBatches.length);
        List<Run> runs = new ArrayList<>();

        CausalLm single = checkpoint.model(new LocalFfn(checkpoint.weights()));
        progress.accept("single process, warming up");
        measure("warm-up", single, batches[batches.length - 1], 1, steps, timing, null);
        for (int batch : batches) {
            for (int m : ms) {
                String mode = m == 1 ? "single process" : "single process m=" + m;
                progress.accept(mode + ", batch " + batch);
                runs.add(measure(mode, single, batch, m, steps, timing, null));
            }
        }

        int experts = c.numExperts();
        try (Deployment shared = Deployment.start(checkpoint, halves(checkpoint), wire)) {
            progress.accept("disaggregated, warming up the gRPC path");
            measure("warm-up", shared.model(), batches[batches.length - 1], 1, steps, timing, shared.ffn());
            for (int batch : batches) {
                for (int m : ms) {
                    progress.accept("disaggregated m=" + m + ", batch " + batch);
                    runs.add(measure("disaggregated m=" + m, shared.model(), batch, m, steps, timing,
                            shared.ffn()));
                }
            }
        }

        FfnBackend all = new OneCore(new CpuFfnBackend(c, checkpoint.weights(), new ExpertRange(0, experts - 1)));
        try (Deployment split = Deployment.start(checkpoint, List.of(all), wire)) {
            progress.accept("one core per side, warming up");
            Parallel.alone(() -> measure("warm-up", split.model(), batches[batches.length - 1], 1, steps, timing,
                    split.ffn()));
            for (int batch : batches) {
                for (int m : ms) {
                    progress.accept("one core per side m=" + m + ", batch " + batch);
                    Run[] r = new Run[1];
                    Parallel.alone(() -> r[0] = measure("one core per side m=" + m, split.model(), batch, m, steps,
                            timing, split.ffn()));
                    runs.add(r[0]);
                }
            }
        }
        List<Run> withFloors = new ArrayList<>();
        for (Run r : runs) {
            if (r.mode().equals("disaggregated m=1") && r.exchange() != null && r.exchange().parts() > 0) {
                progress.accept("gRPC floor, frames of batch " + r.batch());
                int out = (int) (r.exchange().bytesSent() / r.exchange().parts());
                int back = (int) (r.exchange().bytesReceived() / r.exchange().parts());
                r = new Run(r.mode(), r.batch(), r.microBatches(), r.tokensPerSecond(), r.coresBusy(), r.exchange(),
                        r.decodedTokens(), GrpcFloor.measure(out, back, 2000));
            }
            withFloors.add(r);
        }
        return withFloors;
    }

    /** Two ffn-nodes' backends, half of the experts each. */
    static List<FfnBackend> halves(Checkpoint checkpoint) {
        ModelConfig c = checkpoint.config();
        int experts = c.numExperts();
        return List.of(new CpuFfnBackend(c, checkpoint.weights(), new ExpertRange(0, experts / 2 - 1)),
                new CpuFfnBackend(c, checkpoint.weights(), new ExpertRange(experts / 2, experts - 1)));
    }

    private static Run measure(String mode, CausalLm model, int batch, int m, int steps, DecodeBench.Timing timing,
            DisaggregatedFfn ffn) {
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long[] start = new long[2];
        DecodeBench.Result r = DecodeBench.run(model, batch, 16, steps, m, timing, () -> {
            if (ffn != null) {
                ffn.stats().reset();
            }
            start[0] = System.nanoTime();
            start[1] = os.getProcessCpuTime();
        });
        double cores = (double) (os.getProcessCpuTime() - start[1]) / (System.nanoTime() - start[0]);
        return new Run(mode, batch, m, r.tokensPerSecond(), cores, ffn == null ? null : ffn.stats().snapshot(),
                r.tokens(), null);
    }

    /**
     * ffn-nodes behind real gRPC servers on loopback, and an attention node connected to them. Owns both: closing
     * it stops them.
     */
    record Deployment(List<FfnServer> servers, AttentionNode node) implements AutoCloseable {
        static Deployment start(Checkpoint checkpoint, List<FfnBackend> backends, WireDtype wire)
                throws IOException, InterruptedException {
            List<FfnServer> servers = new ArrayList<>();
            try {
                List<String> targets = new ArrayList<>();
                for (FfnBackend backend : backends) {
                    FfnServer s = FfnServer.start("127.0.0.1", 0, checkpoint.config(), backend, "bench");
                    servers.add(s);
                    targets.add("127.0.0.1:" + s.port());
                }
                AttentionNode.Wire w = new AttentionNode.Wire(wire, WireDtype.WIRE_BF16, Duration.ofSeconds(60));
                AttentionNode node = AttentionNode.remote(checkpoint, targets, w,
                        EngineOptions.defaults().withKvMemory(16L << 20), "attention bench");
                Deployment d = new Deployment(servers, node);
                for (FfnLink link : node.ffn().links()) {
                    if (!((GrpcFfnLink) link).awaitLive(Duration.ofSeconds(30))) {
                        d.close();
                        throw new IOException(link.node() + " did not connect: " + ((GrpcFfnLink) link).lastError());
                    }
                }
                return d;
            } catch (IOException | RuntimeException e) {
                servers.forEach(FfnServer::close);
                throw e;
            }
        }

        CausalLm model() {
            return node.engine().model();
        }

        DisaggregatedFfn ffn() {
            return node.ffn();
        }

        @Override
        public void close() {
            node.close();
            servers.forEach(FfnServer::close);
        }
    }

    /** A backend whose kernels run on the node's compute thread alone: the ffn-node gets one core. */
    private record OneCore(FfnBackend backend) implements FfnBackend {
        @Override
        public float[] compute(FfnBatch batch) {
            float[][] out = new float[1][];
            Parallel.alone(() -> out[0] = backend.compute(batch));
            return out[0];
        }

        @Override
        public ExpertSet experts() {
            return backend.experts();
        }

        @Override
        public String name() {
            return backend.name();
        }
    }
}
