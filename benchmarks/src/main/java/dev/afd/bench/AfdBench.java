package dev.afd.bench;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.ffn.DisaggregatedFfn;
import dev.afd.attention.ffn.ExchangeStats;
import dev.afd.attention.ffn.FfnLink;
import dev.afd.attention.ffn.GrpcFfnLink;
import dev.afd.ffn.CpuFfnBackend;
import dev.afd.ffn.ExpertRange;
import dev.afd.ffn.FfnServer;
import dev.afd.model.config.Step3Config;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.step3.LocalFfn;
import dev.afd.model.step3.Step3Model;
import dev.afd.proto.WireDtype;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Decode throughput of one model three ways on this machine: in a single process (FFN computed in place, no wire);
 * disaggregated without pipelining (m = 1); and disaggregated with the micro-batch ping-pong (m = 2, 3). The
 * disaggregated runs use real gRPC over loopback to ffn-nodes that each hold half of the experts.
 */
public final class AfdBench {
    /**
     * One configuration's figures.
     *
     * @param mode "single process" or "disaggregated m=N"
     * @param batch sequences decoding together
     * @param tokensPerSecond decode tokens per second
     * @param exchange per-layer exchange latency and bytes (null for the single process)
     */
    public record Run(String mode, int batch, double tokensPerSecond, ExchangeStats.Snapshot exchange,
            long decodedTokens) {
        /** Bytes on the wire (both directions) per decoded token. */
        public double wireBytesPerToken() {
            return exchange == null ? 0 : (double) (exchange.bytesSent() + exchange.bytesReceived()) / decodedTokens;
        }
    }

    private AfdBench() {}

    /**
     * @param microBatches the pipelined micro-batch counts to measure besides m = 1
     * @param progress told before each run
     */
    public static List<Run> run(Checkpoint checkpoint, int[] batches, int[] microBatches, int steps, WireDtype wire,
            Consumer<String> progress) throws IOException, InterruptedException {
        Step3Config c = checkpoint.config();
        List<Run> runs = new ArrayList<>();
        Step3Model single = new Step3Model(c, checkpoint.weights(), new LocalFfn(checkpoint.weights()));
        for (int batch : batches) {
            progress.accept("single process, batch " + batch);
            DecodeBench.Result r = DecodeBench.run(single, batch, 16, steps, 1, Double.NaN, () -> { });
            runs.add(new Run("single process", batch, r.tokensPerSecond(), null, (long) batch * steps));
        }
        List<FfnServer> servers = new ArrayList<>();
        try {
            List<String> targets = new ArrayList<>();
            int experts = c.numExperts();
            for (int n = 0; n < 2; n++) {
                FfnServer s = FfnServer.start("127.0.0.1", 0, c, new CpuFfnBackend(c, checkpoint.weights(),
                        new ExpertRange(n * experts / 2, (n + 1) * experts / 2 - 1)), "bench");
                servers.add(s);
                targets.add("127.0.0.1:" + s.port());
            }
            AttentionNode.Wire w = new AttentionNode.Wire(wire, WireDtype.WIRE_BF16, Duration.ofSeconds(60));
            try (AttentionNode node = AttentionNode.remote(checkpoint, targets, w,
                    EngineOptions.defaults().withKvMemory(16L << 20), "attention bench")) {
                for (FfnLink link : node.ffn().links()) {
                    if (!((GrpcFfnLink) link).awaitLive(Duration.ofSeconds(30))) {
                        throw new IOException(link.node() + " did not connect: " + ((GrpcFfnLink) link).lastError());
                    }
                }
                Step3Model disaggregated = node.engine().model();
                DisaggregatedFfn ffn = node.ffn();
                List<Integer> ms = new ArrayList<>(List.of(1));
                for (int m : microBatches) {
                    ms.add(m);
                }
                for (int batch : batches) {
                    for (int m : ms) {
                        progress.accept("disaggregated m=" + m + ", batch " + batch);
                        DecodeBench.Result r = DecodeBench.run(disaggregated, batch, 16, steps, m, Double.NaN,
                                ffn.stats()::reset);
                        runs.add(new Run("disaggregated m=" + m, batch, r.tokensPerSecond(), ffn.stats().snapshot(),
                                (long) batch * steps));
                    }
                }
            }
        } finally {
            servers.forEach(FfnServer::close);
        }
        return runs;
    }
}
