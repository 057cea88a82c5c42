package dev.afd.cli;

import dev.afd.model.safetensors.Checkpoint;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code afd serve --local}: one attention node and its ffn-nodes as separate processes on loopback, started and
 * stopped together.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run a whole deployment on this machine: ffn-nodes and an attention node as separate processes.")
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--local", required = true, description = "Run every process on this machine, on loopback.")
    boolean local;

    @Option(names = "--model", required = true, description = "Checkpoint folder (config.json, *.safetensors).")
    Path model;

    @Option(names = "--attention-port", defaultValue = "7001", description = "Attention node gRPC port (default: ${DEFAULT-VALUE}).")
    int attentionPort;

    @Option(names = "--ffn-nodes", defaultValue = "2", description = "ffn-node processes, experts split evenly (default: ${DEFAULT-VALUE}).")
    int ffnNodes;

    @Option(names = "--wire-dtype", defaultValue = "bf16", description = "Activations to ffn-nodes: f32, bf16 or fp8 (default: ${DEFAULT-VALUE}).")
    String wireDtype;

    @Option(names = "--ready-timeout-s", defaultValue = "180", description = "How long to wait for the deployment to serve (default: ${DEFAULT-VALUE}).")
    int readyTimeoutS;

    @Mixin
    EngineMixin engine;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        int experts;
        try (Checkpoint c = Checkpoint.open(model)) {
            experts = Math.max(1, c.config().numExperts());
        }
        if (ffnNodes < 1 || ffnNodes > experts) {
            throw new IllegalArgumentException("--ffn-nodes must be between 1 and the number of experts (" + experts
                    + "), got " + ffnNodes);
        }
        List<Process> children = new ArrayList<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(children), "afd-serve-shutdown"));
        List<String> targets = new ArrayList<>();
        String self = Long.toString(ProcessHandle.current().pid());
        for (int n = 0; n < ffnNodes; n++) {
            int port = freePort();
            String range = (n * experts / ffnNodes) + "-" + ((n + 1) * experts / ffnNodes - 1);
            children.add(start("ffn", "--model", model.toString(), "--experts", range, "--port", Integer.toString(port),
                    "--host", "127.0.0.1", "--exit-with", self));
            targets.add("127.0.0.1:" + port);
        }
        children.add(start("attention", "--model", model.toString(), "--ffn", String.join(",", targets), "--port",
                Integer.toString(attentionPort), "--host", "127.0.0.1", "--wire-dtype", wireDtype, "--kv-dtype",
                engine.kvDtype, "--kv-memory-mb", Long.toString(engine.kvMemoryMb), "--micro-batches",
                Integer.toString(engine.microBatches), "--max-batched-tokens", Integer.toString(engine.maxBatchedTokens),
                "--max-running", Integer.toString(engine.maxRunning), "--exit-with", self));
        awaitServing("127.0.0.1:" + attentionPort, children);
        out.println("AFD deployment ready: attention node at 127.0.0.1:" + attentionPort + ", ffn-nodes at "
                + String.join(", ", targets));
        out.println("try: ./afd generate --attention 127.0.0.1:" + attentionPort + " --prompt-ids 1,2,3 --max-tokens 8 --json");
        out.flush();
        // Serve until a child dies or this process is stopped (Ctrl-C / SIGTERM run the shutdown hook).
        Process died = java.util.concurrent.CompletableFuture.anyOf(
                children.stream().map(Process::onExit).toArray(java.util.concurrent.CompletableFuture[]::new))
                .thenApply(Process.class::cast).get();
        spec.commandLine().getErr().println("afd serve: process " + died.pid() + " exited with " + died.exitValue()
                + "; stopping the deployment");
        return 1;
    }

    /** Starts {@code afd <args>} as a child JVM with this JVM's flags and class path; its output goes to ours. */
    private static Process start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).inheritIO().start();
    }

    private void awaitServing(String target, List<Process> children) throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(readyTimeoutS);
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
                    // not listening yet
                }
                Thread.sleep(200);
            }
            throw new IllegalStateException("the deployment did not become ready within " + readyTimeoutS
                    + " s; see the nodes' logs above");
        } finally {
            channel.shutdownNow();
        }
    }

    private static void stop(List<Process> children) {
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
