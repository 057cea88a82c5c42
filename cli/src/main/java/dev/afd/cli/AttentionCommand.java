package dev.afd.cli;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.ffn.FfnMembership;
import dev.afd.attention.server.AttentionServer;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.telemetry.Tracing;
import dev.afd.transport.MutualTls;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code afd attention}: an attention node serving the attention gRPC service. */
@Command(name = "attention", mixinStandardHelpOptions = true,
        description = "Run an attention node: scheduler, paged KV cache, attention; experts on the given ffn-nodes.")
final class AttentionCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Checkpoint folder (config.json, *.safetensors).")
    java.nio.file.Path model;

    @Option(names = "--ffn", required = true, split = ",", description = "ffn-nodes as host:port or name:port, comma-separated; every address a name resolves to is a node (e.g. a headless service), resolved again every --ffn-refresh-s.")
    List<String> ffn;

    @Option(names = "--ffn-refresh-s", defaultValue = "5", description = "How often --ffn names are resolved again: new addresses join within one refresh, vanished ones are drained out (default: ${DEFAULT-VALUE}).")
    int ffnRefreshS;

    @Mixin
    ListenMixin listen;

    @Mixin
    MetricsPortMixin metrics;

    @Option(names = "--wire-dtype", defaultValue = "bf16", description = "Activations to ffn-nodes: f32, bf16 or fp8 (default: ${DEFAULT-VALUE}).")
    String wireDtype;

    @Option(names = "--response-dtype", defaultValue = "bf16", description = "Results from ffn-nodes: f32 or bf16 (default: ${DEFAULT-VALUE}).")
    String responseDtype;

    @Option(names = "--ffn-deadline-ms", defaultValue = "10000", description = "Longest one ffn-node may take to answer one layer; past it its work goes to another holder of the same experts, or the requests fail when there is none (default: ${DEFAULT-VALUE}).")
    long deadlineMs;

    @Mixin
    ExitWithMixin exitWith;

    @Mixin
    EngineMixin engine;

    @Mixin
    TlsMixin tls;

    @Mixin
    LogFormatMixin logFormat;

    @Mixin
    TracesMixin traces;

    @Override
    public Integer call() throws Exception {
        logFormat.install();
        AttentionNode.Wire wire = new AttentionNode.Wire(WireDtypes.request(wireDtype),
                WireDtypes.response(responseDtype), Duration.ofMillis(deadlineMs));
        MutualTls mutualTls = tls.tls();
        Tracing tracing = traces.tracing("afd-attention");
        try (Checkpoint checkpoint = Checkpoint.open(model);
                AttentionNode node = AttentionNode.remote(checkpoint, ffn, wire, engine.options(),
                        "attention " + listen.host() + ":" + listen.port, mutualTls, FfnMembership.Resolver.system(),
                        Duration.ofSeconds(ffnRefreshS))) {
            AttentionServer server = node.serve(listen.host(), listen.port, tracing);
            node.serveMetrics(listen.host(), metrics.port);
            exitWith.watchParent();
            // Tracing last: the spans of the calls the node finishes while closing are sent too.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                node.close();
                tracing.close();
            }, "afd-attention-shutdown"));
            server.awaitTermination();
        } finally {
            tracing.close();
        }
        return 0;
    }
}
