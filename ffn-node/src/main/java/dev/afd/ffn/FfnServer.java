package dev.afd.ffn;

import dev.afd.ffn.core.FfnBackend;
import dev.afd.ffn.core.FrameProcessor;
import dev.afd.metrics.MetricsServer;
import dev.afd.model.family.ModelConfig;
import dev.afd.proto.FfnServiceGrpc;
import dev.afd.transport.MutualTls;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An ffn-node's gRPC server: the {@code Exchange} service and the standard health service on one Netty port.
 * Health reports SERVING from start (the backend arrives with its weights bound) until {@link #close()}, for the
 * whole server, for the Exchange service, and for {@link #BACKEND_HEALTH_PREFIX} plus the backend's name, so that a
 * health probe can tell which backend runs (e.g. {@code grpc_health_probe -service=afd.ffn.backend.cuda}).
 *
 * <p>Threading: a frame is computed on the network thread that read it (the server's own, {@link NetworkThreads}),
 * and its result written from there. At batch 1 a hand-off to a compute thread and back cost two thread wake-ups
 * per frame (about 70 us of the exchange overhead on 2 cores); computing in place costs nothing extra, since the
 * kernels fan out on their own pool and one stream's frames are answered in order anyway. Streams of different attention nodes may compute at once on
 * their own network threads; both backends take concurrent calls.
 *
 * <p>Ownership: the server owns its Netty resources, its metrics and their HTTP port; it does not own the backend or the checkpoint behind it,
 * which must stay open until {@link #close()} has returned.
 */
public final class FfnServer implements AutoCloseable {
    /** Largest request message: a frame of a few thousand rows of a 7168-wide model in f32 fits easily. */
    public static final int MAX_MESSAGE_BYTES = 256 << 20;
    /** How long {@link #close()} lets open streams finish before cancelling them. */
    public static final Duration CLOSE_GRACE = Duration.ofSeconds(5);
    /** A drain ends once the attention nodes have sent nothing for this long (and nothing is in flight). */
    public static final Duration DRAIN_QUIET = Duration.ofSeconds(1);
    /** Health service name that reports the compute backend: this plus {@code cpu} or {@code cuda}. */
    public static final String BACKEND_HEALTH_PREFIX = "afd.ffn.backend.";
    /** How often the node asks its backend whether it can still compute ({@link FfnBackend#failure()}). */
    static final Duration BACKEND_CHECK = Duration.ofMillis(500);

    private static final System.Logger LOG = System.getLogger(FfnServer.class.getName());

    private final Server server;
    private final FfnService service;
    private final FfnMetrics metrics;
    /** Guarded by this; null until {@link #serveMetrics}. */
    private MetricsServer metricsServer;
    private final HealthStatusManager health;
    private final NetworkThreads network;
    private final FfnBackend backend;
    private final InetSocketAddress address;
    private final String node;
    private final CountDownLatch closeFinished = new CountDownLatch(1);
    private boolean closed;
    /** Why the node stopped on its own; null while serving or after an ordinary close. */
    private volatile Error failure;

    private FfnServer(Server server, FfnService service, FfnMetrics metrics, HealthStatusManager health,
            NetworkThreads network, FfnBackend backend, InetSocketAddress address, String node) {
        this.server = server;
        this.service = service;
        this.metrics = metrics;
        this.health = health;
        this.network = network;
        this.backend = backend;
        this.address = address;
        this.node = node;
    }

    /**
     * Binds {@code host:port} (port 0 picks a free one) and starts serving.
     *
     * @param model the model's name for the start-up log line, e.g. its checkpoint folder
     * @throws IOException when the address cannot be bound
     */
    public static FfnServer start(String host, int port, ModelConfig config, FfnBackend backend, String model)
            throws IOException {
        return start(host, port, config, backend, model, null);
    }

    /**
     * As {@link #start(String, int, ModelConfig, FfnBackend, String)}, with mutual TLS when {@code tls} is not null:
     * then only clients presenting a certificate from the trusted CA get through (health checks included).
     */
    public static FfnServer start(String host, int port, ModelConfig config, FfnBackend backend, String model,
            MutualTls tls) throws IOException {
        // The node's name carries the bound port, known only after start; handshakes read it through this.
        AtomicReference<String> name = new AtomicReference<>("ffn " + host + ":" + port);
        // An error the node cannot survive, from any stream; it stops the server once there is one (see below).
        CompletableFuture<Error> fatal = new CompletableFuture<>();
        FrameProcessor processor = new FrameProcessor(config, backend, name::get);
        HealthStatusManager health = new HealthStatusManager();
        FfnMetrics metrics = new FfnMetrics(backend, config.numExperts());
        FfnService service = new FfnService(processor, Runnable::run, fatal::complete, metrics::computed);
        metrics.watch(service);
        NetworkThreads network = NetworkThreads.start(Math.max(2, Runtime.getRuntime().availableProcessors()));
        Server server = MutualTls.secure(
                        network.applyTo(NettyServerBuilder.forAddress(new InetSocketAddress(host, port))), tls)
                .addService(service)
                .addService(health.getHealthService())
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                // Handlers run on the network thread, frames are computed there too: no thread hop per frame.
                .directExecutor()
                .build();
        try {
            server.start();
        } catch (IOException e) {
            network.shutdown();
            metrics.close();
            throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage()
                    + "; is another process using the port?", e);
        }
        InetSocketAddress bound = new InetSocketAddress(host,
                ((InetSocketAddress) server.getListenSockets().getFirst()).getPort());
        name.set("ffn " + bound.getHostString() + ":" + bound.getPort());
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus(FfnServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
        health.setStatus(BACKEND_HEALTH_PREFIX + backend.name(), ServingStatus.SERVING);
        LOG.log(Level.INFO, "{0} serving experts {1} of {2}, backend {3}, model {4} (fingerprint {5}), {6}, {7}",
                name.get(), backend.experts(), config.numExperts(), backend.name(), model, config.fingerprint(),
                tls == null ? "plaintext" : "mutual TLS", network.transport());
        FfnServer started = new FfnServer(server, service, metrics, health, network, backend, bound, name.get());
        // Runs at once if a stream already failed that way, else on the failing stream's thread when it does.
        fatal.thenAccept(started::stopAfter);
        Thread.ofVirtual().name("ffn-backend-health").start(started::watchBackend);
        return started;
    }

    /**
     * Until the node closes, polls the backend's {@link FfnBackend#failure()}; once it names one (a sticky GPU
     * error: every later frame would fail), reports NOT_SERVING so that health checks and load balancers move
     * traffic away, tells its attention nodes it is draining (so they use other holders of its experts), and logs
     * the error. The node keeps running, so that its operator sees why.
     */
    private void watchBackend() {
        try {
            while (!closeFinished.await(BACKEND_CHECK.toMillis(), TimeUnit.MILLISECONDS)) {
                String failed = backend.failure().orElse(null);
                if (failed != null) {
                    LOG.log(Level.ERROR, "{0}: backend {1} failed: {2}; reporting NOT_SERVING; restart the node",
                            node, backend.name(), failed);
                    for (String service : new String[] {"", FfnServiceGrpc.SERVICE_NAME,
                            BACKEND_HEALTH_PREFIX + backend.name()}) {
                        health.setStatus(service, ServingStatus.NOT_SERVING);
                    }
                    // Attention nodes then send its experts' work to other holders wherever there are any.
                    this.service.drain(node + "'s " + backend.name() + " backend failed: " + failed);
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the node after an error it cannot survive: logs why, then kills it on a thread of its own (the caller
     * may be a network thread computing a frame, which {@link #close()} waits for). {@link #awaitTermination()} then returns and
     * {@link #failure()} says why.
     */
    private void stopAfter(Error e) {
        failure = e;
        LOG.log(Level.ERROR, node + " stops serving: " + e + "; give it more memory (-Xmx, or fewer experts per"
                + " node) and restart it", e);
        Thread.ofPlatform().name("ffn-fatal-stop").start(this::kill);
    }

    /**
     * Serves {@code GET /metrics} on {@code host:port} (0 picks a free port), plain HTTP apart from the gRPC port.
     *
     * @throws IOException naming the address when it cannot be bound
     */
    public synchronized MetricsServer serveMetrics(String host, int port) throws IOException {
        metricsServer = MetricsServer.start(host, port, "ffn-node", metrics::scrape);
        return metricsServer;
    }

    /** The error that made the node stop on its own, or null. */
    public Error failure() {
        return failure;
    }

    public int port() {
        return address.getPort();
    }

    public InetSocketAddress address() {
        return address;
    }

    /** The node's name in handshakes and logs, e.g. {@code ffn 10.0.0.7:7101}. */
    public String node() {
        return node;
    }

    /** The compute backend in use: {@code cpu} or {@code cuda}. */
    public String backendName() {
        return backend.name();
    }

    /** Blocks until {@link #close()} (e.g. from a shutdown hook) has finished. */
    public void awaitTermination() throws InterruptedException {
        closeFinished.await();
    }

    /**
     * Leaves gracefully (SIGTERM): reports NOT_SERVING, tells every attention node it is draining (they send new
     * frames to other holders of its experts), answers the frames that still come, and closes once they have gone
     * quiet ({@link #DRAIN_QUIET} without a frame, none in flight) or {@code grace} has passed, whichever is first.
     *
     * @return whether the attention nodes went quiet within {@code grace}
     */
    public boolean drainAndClose(Duration grace) {
        health.setStatus("", ServingStatus.NOT_SERVING);
        health.setStatus(FfnServiceGrpc.SERVICE_NAME, ServingStatus.NOT_SERVING);
        service.drain(node + " is shutting down");
        LOG.log(Level.INFO, "{0} draining: waiting up to {1} s for its attention nodes to move elsewhere", node,
                grace.toSeconds());
        long end = System.nanoTime() + grace.toNanos();
        boolean quiet = false;
        try {
            // The quiet period starts with the drain: frames sent just before the notice still get their answers.
            Thread.sleep(DRAIN_QUIET.toMillis());
            while (!(quiet = service.quiet(DRAIN_QUIET)) && System.nanoTime() - end < 0) {
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (quiet) {
            server.shutdownNow(); // the streams are idle: nothing to wait for
        } else {
            LOG.log(Level.WARNING, "{0}: attention nodes still sent frames after {1} s of draining (no other node"
                    + " holds some of its experts?); closing anyway", node, grace.toSeconds());
        }
        close();
        return quiet;
    }

    /** Stops at once, as a crashed node would: open streams are cancelled without a grace period. */
    public void kill() {
        server.shutdownNow();
        close();
    }

    /**
     * Reports NOT_SERVING, stops accepting streams, gives open ones {@link #CLOSE_GRACE} to end, cancels the rest,
     * and lets the frame being computed finish. Safe to call more than once.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        health.enterTerminalState();
        server.shutdown();
        try {
            if (!server.awaitTermination(CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                server.shutdownNow();
                server.awaitTermination(CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        } finally {
            network.shutdown();
            synchronized (this) {
                if (metricsServer != null) {
                    metricsServer.close();
                }
            }
            metrics.close();
            closeFinished.countDown();
        }
        LOG.log(Level.INFO, "{0} stopped", node);
    }
}
