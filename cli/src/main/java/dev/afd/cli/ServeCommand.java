package dev.afd.cli;

import dev.afd.gateway.reasoning.ReasoningParser;
import dev.afd.gateway.toolcalls.ToolCallParser;
import dev.afd.model.safetensors.Checkpoint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code afd serve --local}: the whole stack on this machine, each part its own process on loopback: ffn-nodes, one
 * or more attention nodes sharing them, and the OpenAI-compatible gateway, started and stopped together.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run a whole deployment on this machine: ffn-nodes, attention nodes and the OpenAI-compatible"
                + " gateway as separate processes.")
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--local", required = true, description = "Run every process on this machine, on loopback.")
    boolean local;

    @Option(names = "--model", required = true, description = "Checkpoint folder (config.json, *.safetensors, tokenizer files).")
    Path model;

    @Option(names = "--port", defaultValue = "8000", description = "The gateway's HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--api-key", description = "Require 'Authorization: Bearer KEY' on the gateway's API (handed to the gateway through its environment, not its arguments).")
    String apiKey;

    @Option(names = "--api-key-file", description = "Read the gateway's API key from this file (its first line).")
    Path apiKeyFile;

    @Option(names = "--attention-port", defaultValue = "7001", description = "The first attention node's gRPC port; the others take the ports after it (default: ${DEFAULT-VALUE}).")
    int attentionPort;

    @Option(names = "--attention-nodes", defaultValue = "1", description = "Attention node processes, each connected to every ffn-node; the gateway routes over them (default: ${DEFAULT-VALUE}).")
    int attentionNodes;

    @Option(names = "--prefix-routing", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "With several attention nodes, send prompts that start alike to the same node, where their"
                    + " prefix is cached; --no-prefix-routing sends every request to the least-loaded node."
                    + " Default: ${DEFAULT-VALUE}.")
    boolean prefixRouting;

    @Option(names = "--reasoning-parser", description = "Split chat answers into reasoning (message.reasoning_content, delta.reasoning_content) and answer (content): 'step3' takes the text up to and including </think> as reasoning (default: none, answers stay whole).")
    String reasoningParser;

    @Option(names = "--tool-call-parser", description = "The model's tool-call format, which tool_choice 'auto' parses calls from: 'hermes' (<tool_call>{json}</tool_call>, the generated demo model's) or 'step3' (Step-3's <｜tool_calls_begin｜>...<steptml:invoke> format). Default: none ('auto' is refused; 'none', 'required' and a named function work without it).")
    String toolCallParser;

    @Option(names = "--ffn-nodes", defaultValue = "2", description = "ffn-node processes (default: ${DEFAULT-VALUE}).")
    int ffnNodes;

    @Option(names = "--ffn-replicas", defaultValue = "1", description = "ffn-nodes holding each expert (1 to --ffn-nodes); with 2 or more, losing or restarting any one ffn-node fails no request (default: ${DEFAULT-VALUE}).")
    int ffnReplicas;

    @Option(names = "--wire-dtype", defaultValue = "bf16", description = "Activations to ffn-nodes: f32, bf16 or fp8 (default: ${DEFAULT-VALUE}).")
    String wireDtype;

    @Option(names = "--ready-timeout-s", defaultValue = "180", description = "How long to wait for the deployment to serve (default: ${DEFAULT-VALUE}).")
    int readyTimeoutS;

    @Mixin
    EngineMixin engine;

    @Mixin
    LogFormatMixin logFormat;

    @Mixin
    TracesMixin traces;

    @Override
    public Integer call() throws Exception {
        logFormat.install();
        PrintWriter out = spec.commandLine().getOut();
        int experts;
        try (Checkpoint c = Checkpoint.open(model)) {
            experts = Math.max(1, c.config().numExperts());
        }
        WireDtypes.request(wireDtype);
        engine.options();
        String key = ApiKeys.resolve(apiKey, apiKeyFile);
        Map<String, String> gatewayEnv = key == null ? Map.of() : Map.of("AFD_GATEWAY_API_KEY", key);
        List<String> attentionArgs = new ArrayList<>(List.of("--wire-dtype", wireDtype, "--kv-dtype",
                engine.kvDtype, "--kv-memory-mb", Long.toString(engine.kvMemoryMb), "--micro-batches",
                Integer.toString(engine.microBatches), "--max-batched-tokens", Integer.toString(engine.maxBatchedTokens),
                "--max-running", Integer.toString(engine.maxRunning), "--speculative-tokens",
                Integer.toString(engine.speculativeTokens), "--speculative-method", engine.speculativeMethod,
                "--ngram-min", Integer.toString(engine.ngramMin), "--ngram-max", Integer.toString(engine.ngramMax)));
        if (!engine.prefixCaching) {
            attentionArgs.add("--no-prefix-caching");
        }
        List<String> gatewayArgs = new ArrayList<>(prefixRouting ? List.of() : List.of("--no-prefix-routing"));
        if (reasoningParser != null) {
            // Checked here, so that a wrong name fails before any process starts.
            gatewayArgs.addAll(List.of("--reasoning-parser", ReasoningParser.named(reasoningParser).name()));
        }
        if (toolCallParser != null) {
            gatewayArgs.addAll(List.of("--tool-call-parser", ToolCallParser.named(toolCallParser).optionName()));
        }
        String tracesEndpoint = traces.checkedEndpoint();
        if (tracesEndpoint != null) {
            for (List<String> args : List.of(attentionArgs, gatewayArgs)) {
                args.addAll(List.of("--otlp-traces-endpoint", tracesEndpoint));
            }
        }
        LocalDeployment deployment = new LocalDeployment(
                new LocalDeployment.Layout(model, experts, ffnNodes, ffnReplicas, attentionNodes, attentionPort, port),
                attentionArgs, gatewayArgs, List.of("--log-format", logFormat.format), gatewayEnv,
                Duration.ofSeconds(readyTimeoutS));
        AtomicBoolean stopping = new AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping.set(true);
            deployment.close();
        }, "afd-serve-shutdown"));
        String name = model.toAbsolutePath().normalize().getFileName().toString();
        out.println();
        out.println("AFD is serving model '" + name + "' at " + deployment.gatewayUrl() + "/v1 (OpenAI-compatible)");
        out.println("  attention nodes " + String.join(", ", deployment.attentionTargets()) + ", ffn-nodes "
                + String.join(", ", deployment.ffnTargets()));
        out.println();
        out.println("Metrics (Prometheus text):");
        for (LocalDeployment.MetricsUrl m : deployment.metricsUrls()) {
            out.println("  " + m.url() + "  " + m.process());
        }
        out.println();
        out.println("Try it:");
        out.println("  curl " + deployment.gatewayUrl() + "/v1/chat/completions -H 'Content-Type: application/json'"
                + (key == null ? "" : " -H 'Authorization: Bearer " + key + "'") + " \\");
        out.println("    -d '{\"model\": \"" + name + "\", \"messages\": [{\"role\": \"user\", \"content\":"
                + " \"Hello!\"}], \"max_tokens\": 32}'");
        out.println();
        out.println("Press Ctrl-C to stop every process.");
        out.flush();
        // Serve until an attention node or the gateway dies, or this process is stopped (Ctrl-C / SIGTERM run the
        // shutdown hook). An ffn-node that dies is started again; with --ffn-replicas 2 or more no request notices.
        Process died = deployment.anyExit().get();
        if (stopping.get()) {
            return 0; // Ctrl-C or SIGTERM: the shutdown hook is stopping every process
        }
        spec.commandLine().getErr().println("afd serve: process " + died.pid() + " exited with "
                + died.exitValue() + "; stopping the deployment");
        deployment.close();
        return 1;
    }
}
