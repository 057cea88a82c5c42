package dev.afd.attention;

import dev.afd.attention.engine.Engine;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.ffn.DisaggregatedFfn;
import dev.afd.attention.ffn.FfnLink;
import dev.afd.attention.ffn.FfnMembers;
import dev.afd.attention.ffn.FfnMembership;
import dev.afd.attention.ffn.GrpcFfnLink;
import dev.afd.attention.ffn.InProcessFfnLink;
import dev.afd.attention.metrics.AttentionMetrics;
import dev.afd.attention.server.AttentionServer;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.core.FrameProcessor;
import dev.afd.ffn.core.HandshakeRefusedException;
import dev.afd.ffn.core.placement.EvenSplit;
import dev.afd.metrics.MetricsServer;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.grammar.Vocabulary;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.proto.Handshake;
import dev.afd.proto.WireDtype;
import dev.afd.telemetry.Tracing;
import dev.afd.transport.MutualTls;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * An attention node assembled from its parts: checkpoint, ffn links, the disaggregated FFN, the model, the engine,
 * its metrics, and (when serving) the gRPC server and the metrics port. Closing it closes them in reverse order.
 */
public final class AttentionNode implements AutoCloseable {
    /**
     * Where the FFN half runs and how it is reached.
     *
     * @param requestDtype wire dtype of activations to the ffn-nodes
     * @param responseDtype wire dtype of results back
     * @param deadline longest a layer exchange may take
     */
    public record Wire(WireDtype requestDtype, WireDtype responseDtype, Duration deadline) {
        /** f32 both ways: in one process the wire adds no rounding, so offline runs match the float64 reference. */
        public static Wire exact() {
            return new Wire(WireDtype.WIRE_F32, WireDtype.WIRE_F32, Duration.ofSeconds(30));
        }
    }

    /** How often the ffn-nodes' DNS names are resolved again, unless a node is given another interval. */
    public static final Duration DEFAULT_FFN_REFRESH = Duration.ofSeconds(5);

    private static final System.Logger LOG = System.getLogger(AttentionNode.class.getName());

    private final Checkpoint checkpoint;
    private final FfnMembers members;
    private final DisaggregatedFfn ffn;
    private final Engine engine;
    private final AttentionMetrics metrics;
    private final ScheduledExecutorService reconnects;
    private final MutualTls tls;
    private AttentionServer server;
    private MetricsServer metricsServer;
    private boolean closed;

    private AttentionNode(Checkpoint checkpoint, FfnMembers members, Wire wire, EngineOptions options,
            ScheduledExecutorService reconnects, MutualTls tls) {
        this.checkpoint = checkpoint;
        this.members = members;
        this.reconnects = reconnects;
        this.tls = tls;
        ModelConfig c = checkpoint.config();
        this.ffn = new DisaggregatedFfn(c, members, wire.requestDtype(), wire.responseDtype(), wire.deadline());
        // Labelled like the gateway's model by default: the checkpoint folder's name.
        this.metrics = new AttentionMetrics(checkpoint.directory().toAbsolutePath().normalize().getFileName()
                .toString(), c.maxPositions());
        this.engine = new Engine(checkpoint.model(ffn), new HashSet<>(checkpoint.eosTokenIds()),
                options, metrics, vocabulary(checkpoint));
        metrics.watchEngine(engine::load);
        metrics.watchExchange(() -> ffn.stats().toProto(ffn.tier()));
    }

    /**
     * The tokens' bytes from the tokenizer.json next to the weights, for structured output: the node reads them
     * itself so that requests carry only their grammar. Without one the node serves free text and refuses grammars.
     */
    private static Vocabulary vocabulary(Checkpoint checkpoint) {
        try {
            return Vocabulary.load(checkpoint.directory(), checkpoint.config().vocabSize());
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "structured output is off on this node: " + e.getMessage());
            return null;
        }
    }

    /**
     * A node whose ffn side runs in this process: the experts split evenly over {@code shards} in-process ffn-nodes,
     * reached through the same frames as over gRPC.
     */
    public static AttentionNode inProcess(Checkpoint checkpoint, int shards, Wire wire, EngineOptions options)
            throws HandshakeRefusedException {
        ModelConfig c = checkpoint.config();
        int experts = Math.max(1, c.numExperts());
        if (shards < 1 || shards > experts) {
            throw new IllegalArgumentException("ffn shards must be between 1 and the number of experts (" + experts
                    + "), got " + shards);
        }
        List<FfnLink> links = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            ExpertRange range = EvenSplit.part(experts, shards, s);
            FrameProcessor processor = new FrameProcessor(c, new CpuFfnBackend(c, checkpoint.weights(), range),
                    "ffn in-process " + range);
            links.add(new InProcessFfnLink(processor, handshake(c, wire, "attention in-process")));
        }
        return new AttentionNode(checkpoint, FfnMembers.fixed(links), wire, options, null, null);
    }

    /** A node whose ffn-nodes are remote, at {@code targets} ({@code host:port} each), connected in the background. */
    public static AttentionNode remote(Checkpoint checkpoint, List<String> targets, Wire wire, EngineOptions options,
            String self) {
        return remote(checkpoint, targets, wire, options, self, null);
    }

    /**
     * As {@link #remote(Checkpoint, List, Wire, EngineOptions, String)}, with mutual TLS when {@code tls} is not null:
     * the same certificate secures the links to the ffn-nodes and, once {@link #serve}d, the attention service.
     */
    public static AttentionNode remote(Checkpoint checkpoint, List<String> targets, Wire wire, EngineOptions options,
            String self, MutualTls tls) {
        return remote(checkpoint, targets, wire, options, self, tls, FfnMembership.Resolver.system(),
                DEFAULT_FFN_REFRESH);
    }

    /**
     * A node whose ffn-nodes are every address {@code targets} ({@code host:port} or {@code name:port}) resolve to,
     * resolved again every {@code refresh}: members join and leave as DNS says (see {@link FfnMembership}).
     */
    public static AttentionNode remote(Checkpoint checkpoint, List<String> targets, Wire wire, EngineOptions options,
            String self, MutualTls tls, FfnMembership.Resolver resolver, Duration refresh) {
        ScheduledExecutorService reconnects = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("afd-ffn-connect").daemon().factory());
        Handshake h = handshake(checkpoint.config(), wire, self);
        FfnMembership members = new FfnMembership(targets, resolver,
                (address, authority) -> new GrpcFfnLink(address, authority, h, reconnects, tls), refresh, reconnects);
        return new AttentionNode(checkpoint, members, wire, options, reconnects, tls);
    }

    private static Handshake handshake(ModelConfig c, Wire wire, String self) {
        return Handshake.newBuilder()
                .setModelFingerprint(c.fingerprint())
                .setRequestDtype(wire.requestDtype())
                .setResponseDtype(wire.responseDtype())
                .setClient(self)
                .build();
    }

    /** Starts the gRPC server on {@code host:port} (0 picks a free port), over mutual TLS if the node has it. */
    public AttentionServer serve(String host, int port) throws IOException {
        return serve(host, port, Tracing.off());
    }

    /**
     * Starts the gRPC server, recording one span per Generate call in {@code tracing} (which the caller closes after
     * the node).
     */
    public AttentionServer serve(String host, int port, Tracing tracing) throws IOException {
        server = AttentionServer.start(host, port, engine, ffn, tls, tracing);
        return server;
    }

    /**
     * Serves {@code GET /metrics} on {@code host:port} (0 picks a free port), plain HTTP apart from the gRPC port.
     *
     * @throws IOException naming the address when it cannot be bound
     */
    public MetricsServer serveMetrics(String host, int port) throws IOException {
        metricsServer = MetricsServer.start(host, port, "attention node", metrics::scrape);
        return metricsServer;
    }

    /** This node's metrics, in the Prometheus text format. */
    public AttentionMetrics metrics() {
        return metrics;
    }

    /** The gRPC server, once {@link #serve} was called. */
    public AttentionServer server() {
        return server;
    }

    public Engine engine() {
        return engine;
    }

    public DisaggregatedFfn ffn() {
        return ffn;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    /** Stops the server, the engine and the links; safe to call more than once (shutdown hooks race the main thread). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (server != null) {
            server.close();
        }
        if (metricsServer != null) {
            metricsServer.close();
        }
        engine.close();
        metrics.close();
        members.close();
        if (reconnects != null) {
            reconnects.shutdownNow();
        }
    }
}
