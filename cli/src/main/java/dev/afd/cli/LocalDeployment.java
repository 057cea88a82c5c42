package dev.afd.cli;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * ffn-nodes and an attention node as separate child processes on loopback, each a JVM like this one running
 * {@code afd ffn} / {@code afd attention}. Children exit by themselves if this process dies; {@link #close()} stops
 * them (SIGTERM, then SIGKILL after 10 s).
 */
final class LocalDeployment implements AutoCloseable {
    private final List<Process> children = new ArrayList<>();
    private final List<String> ffnTargets = new ArrayList<>();
    private final String attentionTarget;

    /**
     * Starts the processes and waits until the attention node reports SERVING.
     *
     * @param experts the model's routed experts, split evenly over the ffn-nodes
     * @param attentionArgs extra options for {@code afd attention} (wire dtype, engine options)
     */
    LocalDeployment(Path model, int experts, int ffnNodes, int attentionPort, List<String> attentionArgs,
            Duration readyTimeout) throws Exception {
        String self = Long.toString(ProcessHandle.current().pid());
        try {
            for (int n = 0; n < ffnNodes; n++) {
                int port = freePort();
                String range = (n * experts / ffnNodes) + "-" + ((n + 1) * experts / ffnNodes - 1);
                children.add(start(List.of("ffn", "--model", model.toString(), "--experts", range, "--port",
                        Integer.toString(port), "--host", "127.0.0.1", "--exit-with", self)));
                ffnTargets.add("127.0.0.1:" + port);
            }
            int port = attentionPort == 0 ? freePort() : attentionPort;
            List<String> args = new ArrayList<>(List.of("attention", "--model", model.toString(), "--ffn",
                    String.join(",", ffnTargets), "--port", Integer.toString(port), "--host", "127.0.0.1",
                    "--exit-with", self));
            args.addAll(attentionArgs);
            children.add(start(args));
            attentionTarget = "127.0.0.1:" + port;
            awaitServing(readyTimeout);
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

    /** Completes with the first child that exits. */
    CompletableFuture<Process> anyExit() {
        return CompletableFuture.anyOf(children.stream().map(Process::onExit).toArray(CompletableFuture[]::new))
                .thenApply(Process.class::cast);
    }

    /** Starts {@code afd <args>} as a child JVM with this JVM's flags and class path; its output goes to ours. */
    private static Process start(List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(args);
        return new ProcessBuilder(cmd).inheritIO().start();
    }

    private void awaitServing(Duration timeout) throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forTarget(attentionTarget).usePlaintext().build();
        try {
            long end = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < end) {
                for (Process p : children) {
                    if (!p.isAlive()) {
                        throw new IllegalStateException("a node exited during start-up (exit code " + p.exitValue()
                                + "); see its log above");
                    }
                }
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
            throw new IllegalStateException("the deployment did not become ready within " + timeout.toSeconds()
                    + " s; see the nodes' logs above");
        } finally {
            channel.shutdownNow();
        }
    }

    @Override
    public void close() {
        children.forEach(Process::destroy);
        for (Process p : children) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
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
