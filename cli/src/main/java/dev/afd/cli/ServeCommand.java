package dev.afd.cli;

import dev.afd.model.safetensors.Checkpoint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
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
        WireDtypes.request(wireDtype);
        engine.options();
        LocalDeployment deployment = new LocalDeployment(model, experts, ffnNodes, attentionPort,
                List.of("--wire-dtype", wireDtype, "--kv-dtype", engine.kvDtype, "--kv-memory-mb",
                        Long.toString(engine.kvMemoryMb), "--micro-batches", Integer.toString(engine.microBatches),
                        "--max-batched-tokens", Integer.toString(engine.maxBatchedTokens), "--max-running",
                        Integer.toString(engine.maxRunning)),
                Duration.ofSeconds(readyTimeoutS));
        Runtime.getRuntime().addShutdownHook(new Thread(deployment::close, "afd-serve-shutdown"));
        out.println("AFD deployment ready: attention node at " + deployment.attentionTarget() + ", ffn-nodes at "
                + String.join(", ", deployment.ffnTargets()));
        out.println("try: ./afd generate --attention " + deployment.attentionTarget()
                + " --prompt-ids 1,2,3 --max-tokens 8 --json");
        out.flush();
        // Serve until a node dies or this process is stopped (Ctrl-C / SIGTERM run the shutdown hook).
        Process died = deployment.anyExit().get();
        spec.commandLine().getErr().println("afd serve: node process " + died.pid() + " exited with "
                + died.exitValue() + "; stopping the deployment");
        deployment.close();
        return 1;
    }
}
