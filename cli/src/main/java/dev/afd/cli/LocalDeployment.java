package dev.afd.cli;

import dev.afd.ffn.core.placement.EvenSplit;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A whole deployment as child processes on loopback: ffn-nodes, an attention node and the gateway, each a JVM like
 * this one running {@code afd ffn} / {@code afd attention} / {@code afd gateway}. Children exit by themselves if this
 * process dies; {@link #close()} stops them front to back (the gateway first, so it drains while the nodes still run).
 */
final class LocalDeployment implements AutoCloseable {
    /** How long the gateway may drain on close; it is given a little more before being killed. */
    static final int GATEWAY_DRAIN_S = 10;

    /**
     * Where things go.
     *
     * @param model the model folder
     * @param experts the model's routed experts, split evenly over the ffn-nodes
     * @param attentionPort the attention node's gRPC port (0 picks one)
     * @param gatewayPort the gateway's HTTP port (0 picks one)
     */
    record Layout(Path model, int experts, int ffnNodes, int attentionPort, int gatewayPort) {}

    /** Started children, in start order. */
    private final List<Process> children = new ArrayList<>();
    private final List<String> ffnTargets = new ArrayList<>();
    private final String attentionTarget;
    private final int gatewayPort;
    private Process gateway;

    /**
     * Starts the processes and waits until the attention node reports SERVING and the gateway is ready.
     *
     * @param attentionArgs extra options for {@code afd attention} (wire dtype, engine options)
     * @param gatewayArgs extra options for {@code afd gateway} (limits)
     * @param gatewayEnv extra environment of the gateway: secrets such as {@code AFD_GATEWAY_API_KEY} go here, not in
     *     its arguments, which every user of the host can read
     */
    LocalDeployment(Layout layout, List<String> attentionArgs, List<String> gatewayArgs,
            Map<String, String> gatewayEnv, Duration readyTimeout) throws Exception {
        String self = Long.toString(ProcessHandle.current().pid());
        String model = layout.model().toString();
        long end = System.nanoTime() + readyTimeout.toNanos();
        try {
            for (int n = 0; n < layout.ffnNodes(); n++) {
                int port = freePort();
                String range = EvenSplit.part(layout.experts(), layout.ffnNodes(), n).toString();
                children.add(start(List.of("ffn", "--model", model, "--experts", range, "--port",
                        Integer.toString(port), "--host", "127.0.0.1", "--exit-with", self)));
                ffnTargets.add("127.0.0.1:" + port);
            }
            int port = layout.attentionPort() == 0 ? freePort() : layout.attentionPort();
            List<String> args = new ArrayList<>(List.of("attention", "--model", model, "--ffn",
                    String.join(",", ffnTargets), "--port", Integer.toString(port), "--host", "127.0.0.1",
                    "--exit-with", self));
            args.addAll(attentionArgs);
            children.add(start(args));
            attentionTarget = "127.0.0.1:" + port;
            awaitServing(end, readyTimeout);
            gatewayPort = layout.gatewayPort() == 0 ? freePort() : layout.gatewayPort();
            List<String> gatewayCommand = new ArrayList<>(List.of("gateway", "--model", model, "--attention",
                    attentionTarget, "--port", Integer.toString(gatewayPort), "--host", "127.0.0.1",
                    "--drain-timeout-s", Integer.toString(GATEWAY_DRAIN_S), "--exit-with", self));
            gatewayCommand.addAll(gatewayArgs);
            gateway = start(gatewayCommand, gatewayEnv);
            children.add(gateway);
            awaitGateway(end, readyTimeout);
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    String attentionTarget() {
        return attentionTarget;
    }

    List<String> ffnTargets() {
        return List.copyOf(ffnTargets);
    }

    /** The gateway's base URL, e.g. {@code http://127.0.0.1:8000}. */
    String gatewayUrl() {
        return "http://127.0.0.1:" + gatewayPort;
    }

    /** The child processes, in start order. */
    List<Process> processes() {
        return List.copyOf(children);
    }

    /** Completes with the first child that exits. */
    CompletableFuture<Process> anyExit() {
        return CompletableFuture.anyOf(children.stream().map(Process::onExit).toArray(CompletableFuture[]::new))
                .thenApply(Process.class::cast);
    }

    /** Starts {@code afd <args>} as a child JVM with this JVM's flags and class path; its output goes to ours. */
    private static Process start(List<String> args) throws IOException {
        return start(args, Map.of());
    }

    private static Process start(List<String> args, Map<String, String> env) throws IOException {
        ProcessBuilder b = new ProcessBuilder(childCommand(args)).inheritIO();
        b.environment().putAll(env);
        return b.start();
    }

    /** The command line of {@code afd <args>} run in a child JVM with this JVM's java, flags and class path. */
    static List<String> childCommand(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(args);
        return cmd;
    }

    private void checkAlive() {
        for (Process p : children) {
            if (!p.isAlive()) {
                throw new IllegalStateException("a node exited during start-up (exit code " + p.exitValue()
                        + "); see its log above");
            }
        }
    }

    private void awaitServing(long end, Duration timeout) throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forTarget(attentionTarget).usePlaintext().build();
        try {
            while (System.nanoTime() < end) {
                checkAlive();
                try {
                    ServingStatus s = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
                            .check(HealthCheckRequest.getDefaultInstance()).getStatus();
                    if (s == ServingStatus.SERVING) {
                        return;
                    }
                } catch (io.grpc.StatusRuntimeException notYet) {
                    // not listening yet, or still connecting to its ffn-nodes
                }
                Thread.sleep(200);
            }
            throw notReady(timeout);
        } finally {
            channel.shutdownNow();
        }
    }

    private void awaitGateway(long end, Duration timeout) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create(gatewayUrl() + "/health"))
                .timeout(Duration.ofSeconds(2)).build();
        while (System.nanoTime() < end) {
            checkAlive();
            try {
                if (http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw notReady(timeout);
    }

    private static IllegalStateException notReady(Duration timeout) {
        return new IllegalStateException("the deployment did not become ready within " + timeout.toSeconds()
                + " s; see the nodes' logs above");
    }

    /** Stops the children front to back: SIGTERM, then SIGKILL if one outlives its grace period. */
    @Override
    public synchronized void close() {
        for (Process p : children.reversed()) {
            p.destroy();
            try {
                if (!p.waitFor(p == gateway ? GATEWAY_DRAIN_S + 5 : 10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
