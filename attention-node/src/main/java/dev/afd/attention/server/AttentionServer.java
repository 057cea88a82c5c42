package dev.afd.attention.server;

import dev.afd.attention.engine.Engine;
import dev.afd.attention.ffn.DisaggregatedFfn;
import dev.afd.proto.AttentionServiceGrpc;
import dev.afd.telemetry.RequestMetadata;
import dev.afd.telemetry.Tracing;
import dev.afd.transport.MutualTls;
import io.grpc.ServerInterceptors;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An attention node's gRPC server: the attention service and the standard health service, which reports SERVING only
 * while every expert has a live ffn-node (re-checked every 200 ms). Calls to the attention service run with the
 * request context the gateway sent in their metadata bound ({@link RequestMetadata}).
 *
 * <p>Ownership: the server does not own the engine or the ffn links; whoever assembled them closes them.
 */
public final class AttentionServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(AttentionServer.class.getName());

    private final Server server;
    private final HealthStatusManager health;
    private final ScheduledExecutorService watcher;
    private final InetSocketAddress address;

    private AttentionServer(Server server, HealthStatusManager health, ScheduledExecutorService watcher,
            InetSocketAddress address) {
        this.server = server;
        this.health = health;
        this.watcher = watcher;
        this.address = address;
    }

    /**
     * Binds {@code host:port} (0 picks a free port) and starts serving; with mutual TLS when {@code tls} is not null,
     * so only clients presenting a certificate from the trusted CA get through (health checks included).
     */
    public static AttentionServer start(String host, int port, Engine engine, DisaggregatedFfn ffn, MutualTls tls,
            Tracing tracing) throws IOException {
        HealthStatusManager health = new HealthStatusManager();
        AttentionService service = new AttentionService(engine, ffn, tracing);
        Server server = MutualTls.secure(NettyServerBuilder.forAddress(new InetSocketAddress(host, port)), tls)
                .addService(ServerInterceptors.intercept(service, RequestMetadata.receive()))
                .addService(health.getHealthService())
                .build();
        try {
            server.start();
        } catch (IOException e) {
            throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage()
                    + "; is another process using the port?", e);
        }
        InetSocketAddress bound = new InetSocketAddress(host,
                ((InetSocketAddress) server.getListenSockets().getFirst()).getPort());
        ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("afd-health").daemon().factory());
        String[] last = {"starting"};
        watcher.scheduleWithFixedDelay(() -> {
            String reason = ffn.unavailableReason();
            ServingStatus status = reason == null ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
            health.setStatus("", status);
            health.setStatus(AttentionServiceGrpc.SERVICE_NAME, status);
            if (!java.util.Objects.equals(reason, last[0])) {
                LOG.log(reason == null ? Level.INFO : Level.WARNING,
                        reason == null ? "every expert has a live ffn-node: SERVING" : "NOT_SERVING: " + reason);
                last[0] = reason;
            }
        }, 0, 200, TimeUnit.MILLISECONDS);
        LOG.log(Level.INFO, "attention node listening on " + bound.getHostString() + ":" + bound.getPort()
                + (tls == null ? ", plaintext" : ", mutual TLS"));
        return new AttentionServer(server, health, watcher, bound);
    }

    public int port() {
        return address.getPort();
    }

    /** Blocks until the server has shut down. */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /** Reports NOT_SERVING, stops taking calls, and gives running calls 5 s before cancelling them. */
    @Override
    public void close() {
        watcher.shutdownNow();
        health.enterTerminalState();
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
    }
}
