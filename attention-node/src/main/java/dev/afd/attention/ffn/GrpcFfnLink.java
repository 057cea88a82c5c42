package dev.afd.attention.ffn;

import dev.afd.ffn.core.ExpertSet;
import dev.afd.model.ffn.FfnException;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.ExchangeRequest;
import dev.afd.proto.ExchangeResponse;
import dev.afd.proto.FfnServiceGrpc;
import dev.afd.proto.Handshake;
import dev.afd.proto.HandshakeAccepted;
import dev.afd.proto.ResultFrame;
import dev.afd.transport.MutualTls;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One ffn-node over a long-lived bidirectional gRPC {@code Exchange} stream. Connects in the background, handshakes,
 * and when the stream breaks fails every frame in flight with an error naming the node, then reconnects with
 * exponential backoff (100 ms doubling to 5 s) until closed. A node that says it is draining keeps its stream
 * until it closes it; {@link #draining()} tells the layer exchanges to prefer other holders meanwhile.
 *
 * <p>Flow control: inbound results are requested one at a time (manual flow control), so a slow attention node
 * pushes back on the ffn-node; outbound frames are bounded by the pipeline itself (at most one per micro-batch in
 * flight per node).
 *
 * <p>Threading: {@link #send} from the engine thread; stream callbacks on gRPC threads; reconnects on the shared
 * scheduler. The request stream is guarded by {@code this} because gRPC observers are not thread-safe.
 */
public final class GrpcFfnLink implements FfnLink {
    private static final System.Logger LOG = System.getLogger(GrpcFfnLink.class.getName());
    private static final long MIN_BACKOFF_MS = 100;
    private static final long MAX_BACKOFF_MS = 5000;

    private final String target;
    private final Handshake handshake;
    private final ManagedChannel channel;
    private final ScheduledExecutorService scheduler;
    private final Map<Long, CompletableFuture<ResultFrame>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong drains = new AtomicLong();
    private volatile HandshakeAccepted accepted;
    private volatile boolean draining;
    private volatile String lastError = "not connected yet";
    private volatile boolean closed;
    private ClientCallStreamObserver<ExchangeRequest> requests;
    private long backoffMs = MIN_BACKOFF_MS;

    /**
     * Starts connecting to {@code target} ({@code host:port}) in the background.
     *
     * @param scheduler runs reconnect attempts; shared by every link of a node
     */
    public GrpcFfnLink(String target, Handshake handshake, ScheduledExecutorService scheduler) {
        this(target, handshake, scheduler, null);
    }

    /**
     * As {@link #GrpcFfnLink(String, Handshake, ScheduledExecutorService)}, over mutual TLS when {@code tls} is not
     * null (then the ffn-node's certificate must name the host of {@code target}).
     */
    public GrpcFfnLink(String target, Handshake handshake, ScheduledExecutorService scheduler, MutualTls tls) {
        this(target, null, handshake, scheduler, tls);
    }

    /**
     * As {@link #GrpcFfnLink(String, Handshake, ScheduledExecutorService, MutualTls)} for one address of a DNS name:
     * {@code target} is the address ({@code ip:port}), and TLS checks the node's certificate against
     * {@code authority} (the name), not the address.
     */
    public GrpcFfnLink(String target, String authority, Handshake handshake, ScheduledExecutorService scheduler,
            MutualTls tls) {
        this.target = target;
        this.handshake = handshake;
        this.scheduler = scheduler;
        NettyChannelBuilder builder = NettyChannelBuilder.forTarget(target);
        if (authority != null) {
            builder.overrideAuthority(authority);
        }
        this.channel = MutualTls.secure(builder, tls)
                .maxInboundMessageSize(256 << 20)
                .keepAliveTime(30, TimeUnit.SECONDS)
                // Results complete their futures on the network thread (and the last one sums the partials there):
                // no thread hop between a result arriving and the engine seeing it.
                .directExecutor()
                .build();
        scheduler.execute(this::connect);
    }

    @Override
    public String node() {
        HandshakeAccepted a = accepted;
        return a != null ? a.getNode() : "ffn " + target;
    }

    @Override
    public HandshakeAccepted accepted() {
        return accepted;
    }

    /** Why the link is down, for messages; meaningful while {@link #live()} is false. */
    public String lastError() {
        return lastError;
    }

    @Override
    public long reconnects() {
        return reconnects.get();
    }

    @Override
    public boolean draining() {
        return draining;
    }

    @Override
    public long drains() {
        return drains.get();
    }

    @Override
    public boolean idle() {
        return pending.isEmpty();
    }

    /** The address this link connects to, {@code host:port}. */
    public String target() {
        return target;
    }

    /** Waits until the handshake succeeded; false on timeout. */
    public boolean awaitLive(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!live() && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        return live();
    }

    @Override
    public CompletableFuture<ResultFrame> send(ActivationFrame.Builder frame) {
        if (!live()) {
            return CompletableFuture.failedFuture(new FfnException(node() + " is not connected: " + lastError));
        }
        long id = ids.incrementAndGet();
        CompletableFuture<ResultFrame> result = new CompletableFuture<>();
        pending.put(id, result);
        // A timed-out or cancelled frame must not stay in the map.
        result.whenComplete((r, e) -> pending.remove(id));
        synchronized (this) {
            if (requests == null) {
                result.completeExceptionally(new FfnException(node() + " is not connected: " + lastError));
            } else {
                requests.onNext(ExchangeRequest.newBuilder().setFrame(frame.setId(id)).build());
            }
        }
        return result;
    }

    private void connect() {
        if (closed) {
            return;
        }
        channel.resetConnectBackoff();
        var stream = FfnServiceGrpc.newStub(channel).exchange(new ClientResponseObserver<ExchangeRequest, ExchangeResponse>() {
            private ClientCallStreamObserver<ExchangeRequest> stream;

            @Override
            public void beforeStart(ClientCallStreamObserver<ExchangeRequest> requestStream) {
                stream = requestStream;
                requestStream.disableAutoRequestWithInitial(1);
            }

            @Override
            public void onNext(ExchangeResponse response) {
                if (response.hasAccepted()) {
                    synchronized (GrpcFfnLink.this) {
                        requests = stream;
                        backoffMs = MIN_BACKOFF_MS;
                    }
                    draining = false;
                    accepted = response.getAccepted();
                    LOG.log(Level.INFO, "connected to " + accepted.getNode() + " (experts " + ExpertSet.describe(
                            accepted.getExpertsList().stream().mapToInt(Integer::intValue).toArray()) + ", backend "
                            + accepted.getBackend() + ")");
                } else if (response.hasDraining()) {
                    draining = true;
                    drains.incrementAndGet();
                    LOG.log(Level.INFO, node() + " is draining (" + response.getDraining().getReason()
                            + "); its experts go to other holders where there are any");
                } else {
                    CompletableFuture<ResultFrame> f = pending.remove(response.getResult().getId());
                    if (f != null) {
                        f.complete(response.getResult());
                    }
                }
                stream.request(1);
            }

            @Override
            public void onError(Throwable t) {
                lost(stream, Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                lost(stream, Status.UNAVAILABLE.withDescription("the node closed the stream"));
            }
        });
        // Under the lock the acceptance handler takes, so no frame can overtake the handshake.
        synchronized (this) {
            stream.onNext(ExchangeRequest.newBuilder().setHandshake(handshake).build());
        }
    }

    /** The stream broke: fail what is in flight, naming the node, and try again later. */
    private void lost(ClientCallStreamObserver<ExchangeRequest> stream, Status status) {
        String name = node();
        long delay;
        boolean wasLive;
        synchronized (this) {
            if (requests != null && requests != stream) {
                return;
            }
            wasLive = requests != null;
            requests = null;
            delay = backoffMs;
            backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        }
        accepted = null;
        lastError = describe(status);
        FfnException failure = new FfnException(name + " connection lost: " + lastError);
        pending.values().forEach(f -> f.completeExceptionally(failure));
        pending.clear();
        if (closed) {
            return;
        }
        if (wasLive && draining) {
            LOG.log(Level.INFO, name + " finished draining and closed its stream; reconnecting when it is back");
        } else if (wasLive) {
            reconnects.incrementAndGet();
            LOG.log(Level.WARNING, name + " connection lost (" + lastError + "); reconnecting");
        } else if (status.getCode() == Status.Code.FAILED_PRECONDITION) {
            LOG.log(Level.ERROR, "ffn " + target + " refused this node: " + lastError);
        }
        scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    private static String describe(Status status) {
        String d = status.getDescription();
        return status.getCode() + (d == null ? "" : ": " + d);
    }

    @Override
    public void close() {
        closed = true;
        synchronized (this) {
            if (requests != null) {
                requests.onCompleted();
                requests = null;
            }
        }
        accepted = null;
        channel.shutdownNow();
    }
}
