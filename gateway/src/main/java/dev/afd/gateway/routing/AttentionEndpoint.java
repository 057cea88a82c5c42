package dev.afd.gateway.routing;

import dev.afd.proto.AttentionServiceGrpc;
import dev.afd.proto.GenerateRequest;
import dev.afd.telemetry.RequestContext;
import dev.afd.telemetry.RequestMetadata;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import dev.afd.proto.LoadRequest;
import dev.afd.proto.LoadResponse;
import io.grpc.CallOptions;
import dev.afd.transport.MutualTls;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One attention node as the gateway sees it: a gRPC channel, its last reported load, and whether it is ready. A node
 * is ready while its last Load call succeeded, it reports serving (every expert covered), and it serves the
 * gateway's model (same fingerprint); a failed Load takes it out until a later one succeeds.
 *
 * <p>Threading: the channel runs callbacks directly on its transport threads (no executor hop: the gateway's
 * listeners never block). State fields are volatile snapshots written by Load callbacks and read by the router.
 */
public final class AttentionEndpoint implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(AttentionEndpoint.class.getName());

    /** A node's state: its load when the last Load succeeded, else why it is not ready. */
    private record State(NodeLoad load, String notReady) {}

    private final String target;
    private final String fingerprint;
    private final ManagedChannel channel;
    private final AttentionServiceGrpc.AttentionServiceStub stub;
    private final AtomicInteger inflight = new AtomicInteger();
    private final AtomicInteger sentSinceLoad = new AtomicInteger();
    private volatile State state = new State(null, "no load report yet");
    /** The last successful report, kept while later ones fail, so the node's cumulative counters never drop. */

    /**
     * @param fingerprint the model fingerprint a node must report to be used, or null to accept any
     * @param tls mutual TLS towards the node, or null for plaintext
     * @param group the event loop group the channel runs on (shared with the HTTP server so writes need no hop)
     */
    AttentionEndpoint(String target, String fingerprint, MutualTls tls, EventLoopGroup group) {
        this.target = target;
        this.fingerprint = fingerprint;
        this.channel = MutualTls.secure(NettyChannelBuilder.forTarget(target), tls)
                .eventLoopGroup(group)
                .channelType(NioSocketChannel.class)
                .directExecutor()
                .build();
        this.stub = AttentionServiceGrpc.newStub(channel);
    }

    public String target() {
        return target;
    }

    /** The last reported load, or null when there has been no successful report. */
    public NodeLoad load() {
        return state.load;
    }

    public boolean ready() {
        return state.notReady == null;
    }

    /** Why the node is not ready, or null when it is. */
    public String notReadyReason() {
        return state.notReady;
    }

    /** Generate calls from this gateway still running on the node. */
    public int inflight() {
        return inflight.get();
    }

    /**
     * How busy the node is, lower is better: its queue (counting requests sent since its last report, which the
     * report cannot show yet), then the KV fraction in use as a tie-break below one queued request.
     */
    double score() {
        NodeLoad l = state.load;
        double queue = (l == null ? 0 : l.waiting()) + sentSinceLoad.get();
        return queue + (l == null ? 0 : l.kvUsage()) + inflight.get() * 1e-6;
    }

    /**
     * Starts a Generate call carrying {@code context} in its metadata; the listener runs on a transport thread, with
     * the context bound.
     */
    public GenerateCall generate(GenerateRequest request, RequestContext context, GenerateListener listener) {
        inflight.incrementAndGet();
        sentSinceLoad.incrementAndGet();
        Channel traced = ClientInterceptors.intercept(channel, RequestMetadata.attach(context));
        return GenerateCall.start(traced.newCall(AttentionServiceGrpc.getGenerateMethod(), CallOptions.DEFAULT),
                this, request, context, listener);
    }

    void callEnded() {
        inflight.decrementAndGet();
    }

    /** Asks the node for its load; the answer (or the failure) updates readiness when it arrives. */
    void refresh(Duration deadline) {
        stub.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS).load(LoadRequest.getDefaultInstance(),
                new StreamObserver<>() {
                    @Override
                    public void onNext(LoadResponse r) {
                        NodeLoad load = NodeLoad.of(r);
                        sentSinceLoad.set(0);
                        update(new State(load, reasonNotReady(load)));
                    }

                    @Override
                    public void onError(Throwable t) {
                        Status s = Status.fromThrowable(t);
                        // Reconnect at the next poll instead of after gRPC's growing backoff: the poll interval
                        // bounds how long a node that came back stays out of routing.
                        channel.resetConnectBackoff();
                        update(new State(null, "load check failed: " + s.getCode()
                                + (s.getDescription() == null ? "" : " (" + s.getDescription() + ")")));
                    }

                    @Override
                    public void onCompleted() {
                        // the unary answer came through onNext
                    }
                });
    }

    private String reasonNotReady(NodeLoad load) {
        if (!load.serving()) {
            return "not serving (some expert has no live ffn-node)";
        }
        if (fingerprint != null && !fingerprint.equals(load.fingerprint())) {
            return "serves a different model (fingerprint " + load.fingerprint() + ", this gateway's model has "
                    + fingerprint + "); point the gateway at nodes of the same model";
        }
        return null;
    }

    private void update(State next) {
        State previous = state;
        state = next;
        if (!Objects.equals(previous.notReady, next.notReady)) {
            LOG.log(next.notReady == null ? Level.INFO : Level.WARNING, next.notReady == null
                    ? "attention node " + target + " is ready"
                    : "attention node " + target + " taken out of routing: " + next.notReady);
        }
    }

    /** Stops taking new calls; calls in flight run to their end. */
    @Override
    public void close() {
        channel.shutdown();
    }

    /** Cancels whatever is still running and waits a little for the channel to end. */
    void closeNow() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return target;
    }
}
