package dev.afd.cli;

import dev.afd.ffn.core.ExpertSet;
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
 * A whole deployment as child processes on loopback: ffn-nodes, one or more attention nodes sharing them, and the
 * gateway routing over the attention nodes, each a JVM like this one running {@code afd ffn} / {@code afd attention}
 * / {@code afd gateway}. Children exit by themselves if this process dies; {@link #close()} stops them front to back
 * (the gateway first, so it drains while the nodes still run).
 */
final class LocalDeployment implements AutoCloseable {
    /** How long the gateway may drain on close; it is given a little more before being killed. */
    static final int GATEWAY_DRAIN_S = 10;

    /**
     * Where things go.
     *
     * @param model the model folder
     * @param experts the model's routed experts, split evenly over the ffn-nodes
     * @param replicas how many ffn-nodes hold each expert (1 to {@code ffnNodes})
     * @param attentionNodes attention nodes, each connected to every ffn-node
     * @param attentionPort the first attention node's gRPC port, the others on the ports after it (0 picks free ones)
     * @param gatewayPort the gateway's HTTP port (0 picks one)
     */
    record Layout(Path model, int experts, int ffnNodes, int replicas, int attentionNodes, int attentionPort,
            int gatewayPort) {
        Layout {
            if (attentionNodes < 1) {
                throw new IllegalArgumentException("--attention-nodes must be at least 1, got " + attentionNodes);
            }
            if (ffnNodes < 1 || ffnNodes > experts) {
                throw new IllegalArgumentException("--ffn-nodes must be between 1 and the number of experts ("
                        + experts + "), got " + ffnNodes);
            }
            if (replicas < 1 || replicas > ffnNodes) {
                throw new IllegalArgumentException("--ffn-replicas must be between 1 and --ffn-nodes (" + ffnNodes
                        + "), got " + replicas);
            }
        }

        /**
         * The experts of ffn-node {@code n}: the experts are cut into {@code ffnNodes} equal chunks, and node n holds
         * chunks n, n+1, ..., n+replicas-1 (wrapping around), so every expert is on {@code replicas} distinct nodes
         * and losing any {@code replicas - 1} nodes leaves every expert a holder.
         */
        String expertsOf(int n) {
            List<String> chunks = new ArrayList<>();
            for (int r = 0; r < replicas; r++) {
                int c = (n + r) % ffnNodes;
                chunks.add(EvenSplit.part(experts, ffnNodes, c).toString());
            }
            return ExpertSet.parse(String.join(",", chunks)).toString();
        }
    }

    private static final System.Logger LOG = System.getLogger(LocalDeployment.class.getName());

    /** The attention nodes and the gateway, in start order; their exit ends the deployment. Guarded by this. */
    private final List<Process> roles = new ArrayList<>();
    /** The ffn-nodes now; one that exits is started again on its port, as a supervisor would. Guarded by this. */
    private final List<Process> ffnNodes = new ArrayList<>();
    private final List<List<String>> ffnCommands = new ArrayList<>();
    private final List<String> ffnTargets = new ArrayList<>();
    private boolean closing;
    private final List<String> attentionTargets = new ArrayList<>();
    /** Every process's metrics URL, in start order: ffn-nodes, attention nodes, the gateway. */
    private final List<MetricsUrl> metricsUrls = new ArrayList<>();
    private final int gatewayPort;
    private Process gateway;

    /**
     * Starts the processes and waits until every attention node reports SERVING and the gateway is ready.
     *
     * @param attentionArgs extra options for {@code afd attention} (wire dtype, engine options)
     * @param gatewayArgs extra options for {@code afd gateway} (limits)
     * @param everyRoleArgs options every process gets, ffn-nodes included (the log format)
     * @param gatewayEnv extra environment of the gateway: secrets such as {@code AFD_GATEWAY_API_KEY} go here, not in
     *     its arguments, which every user of the host can read
     */
    LocalDeployment(Layout layout, List<String> attentionArgs, List<String> gatewayArgs, List<String> everyRoleArgs,
            Map<String, String> gatewayEnv, Duration readyTimeout) throws Exception {
        String self = Long.toString(ProcessHandle.current().pid());
        String model = layout.model().toString();
        long end = System.nanoTime() + readyTimeout.toNanos();
        try {
            for (int n = 0; n < layout.ffnNodes(); n++) {
                int port = freePort();
                int metricsPort = freePort();
                List<String> ffnCommand = new ArrayList<>(List.of("ffn", "--model", model, "--experts",
                        layout.expertsOf(n), "--port", Integer.toString(port), "--metrics-port",
                        Integer.toString(metricsPort), "--host", "127.0.0.1", "--exit-with", self));
                ffnCommand.addAll(everyRoleArgs);
                ffnCommands.add(ffnCommand);
                ffnTargets.add("127.0.0.1:" + port);
                metricsUrls.add(new MetricsUrl("ffn-node " + ffnTargets.getLast(), metricsUrl(metricsPort)));
                ffnNodes.add(null);
                startFfn(n);
            }
            for (int n = 0; n < layout.attentionNodes(); n++) {
                int port = layout.attentionPort() == 0 ? freePort() : layout.attentionPort() + n;
                int metricsPort = freePort();
                List<String> args = new ArrayList<>(List.of("attention", "--model", model, "--ffn",
                        String.join(",", ffnTargets), "--port", Integer.toString(port), "--metrics-port",
                        Integer.toString(metricsPort), "--host", "127.0.0.1", "--exit-with", self));
                args.addAll(attentionArgs);
                args.addAll(everyRoleArgs);
                roles.add(start(args));
                attentionTargets.add("127.0.0.1:" + port);
                metricsUrls.add(new MetricsUrl("attention node " + attentionTargets.getLast(),
                        metricsUrl(metricsPort)));
            }
            for (String target : attentionTargets) {
                awaitServing(target, end, readyTimeout);
            }
            gatewayPort = layout.gatewayPort() == 0 ? freePort() : layout.gatewayPort();
            List<String> gatewayCommand = new ArrayList<>(List.of("gateway", "--model", model, "--attention",
                    String.join(",", attentionTargets), "--port", Integer.toString(gatewayPort), "--host", "127.0.0.1",
                    "--drain-timeout-s", Integer.toString(GATEWAY_DRAIN_S), "--exit-with", self));
            gatewayCommand.addAll(gatewayArgs);
            gatewayCommand.addAll(everyRoleArgs);
            gateway = start(gatewayCommand, gatewayEnv);
            roles.add(gateway);
            metricsUrls.add(new MetricsUrl("gateway " + gatewayUrl(), gatewayUrl() + "/metrics"));
            awaitGateway(end, readyTimeout);
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    /** The attention nodes' gRPC addresses, {@code 127.0.0.1:port} each. */
    List<String> attentionTargets() {
        return List.copyOf(attentionTargets);
    }

    List<String> ffnTargets() {
        return List.copyOf(ffnTargets);
    }

    /** A process and where Prometheus scrapes it. */
    record MetricsUrl(String process, String url) {}

    /** Every process's metrics URL: ffn-nodes, attention nodes, then the gateway. */
    List<MetricsUrl> metricsUrls() {
        return List.copyOf(metricsUrls);
    }

    private static String metricsUrl(int port) {
        return "http://127.0.0.1:" + port + "/metrics";
    }

    /** The gateway's base URL, e.g. {@code http://127.0.0.1:8000}. */
    String gatewayUrl() {
        return "http://127.0.0.1:" + gatewayPort;
    }

    /** The child processes now: ffn-nodes, then the attention nodes and the gateway. */
    synchronized List<Process> processes() {
        List<Process> all = new ArrayList<>(ffnNodes);
        all.addAll(roles);
        return all;
    }

    /** ffn-node {@code n} as it runs now (a restarted one is a new process). */
    synchronized Process ffnNode(int n) {
        return ffnNodes.get(n);
    }

    /** Completes with an attention node or the gateway once one exits (ffn-nodes are restarted instead). */
    synchronized CompletableFuture<Process> anyExit() {
        return CompletableFuture.anyOf(roles.stream().map(Process::onExit).toArray(CompletableFuture[]::new))
                .thenApply(Process.class::cast);
    }

    /** Starts ffn-node {@code n}, and again whenever it exits while the deployment is open. */
    private synchronized void startFfn(int n) throws IOException {
        Process p = start(ffnCommands.get(n));
        ffnNodes.set(n, p);
        p.onExit().thenAccept(gone -> restartFfn(n, gone));
    }

    private synchronized void restartFfn(int n, Process gone) {
        if (closing || ffnNodes.get(n) != gone) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "ffn-node " + ffnTargets.get(n) + " (pid " + gone.pid() + ") exited"
                + " with " + gone.exitValue() + "; starting it again");
        try {
            startFfn(n);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.ERROR, "cannot start ffn-node " + ffnTargets.get(n) + " again: "
                    + e.getMessage());
        }
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
        for (Process p : processes()) {
            if (p != null && !p.isAlive()) {
                throw new IllegalStateException("a node exited during start-up (exit code " + p.exitValue()
                        + "); see its log above");
            }
        }
    }

    private void awaitServing(String attentionTarget, long end, Duration timeout) throws Exception {
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
    public void close() {
        List<Process> all;
        synchronized (this) {
            closing = true;
            all = processes();
        }
        for (Process p : all.reversed()) {
            if (p == null) {
                continue;
            }
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
