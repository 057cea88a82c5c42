package dev.afd.cli;

import dev.afd.gateway.Gateway;
import dev.afd.gateway.GatewayOptions;
import dev.afd.gateway.http.HttpLimits;
import dev.afd.gateway.reasoning.ReasoningParser;
import dev.afd.gateway.toolcalls.ToolCallParser;
import dev.afd.gateway.routing.Resolver;
import dev.afd.telemetry.Tracing;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code afd gateway}: the OpenAI-compatible HTTP front door in front of attention nodes. SIGTERM drains: readiness
 * fails at once, requests in flight get {@code --drain-timeout-s} to finish, then the process exits.
 */
@Command(name = "gateway", mixinStandardHelpOptions = true,
        description = "Run the OpenAI-compatible HTTP gateway in front of attention nodes.")
final class GatewayCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Model folder: config.json (and generation_config.json, tokenizer files); weights are not read.")
    Path model;

    @Option(names = "--tokenizer", description = "Folder with tokenizer.json and tokenizer_config.json (default: the model folder).")
    Path tokenizer;

    @Option(names = "--served-model-name", description = "Model name clients use (default: the model folder's name).")
    String servedModelName;

    @Option(names = "--attention", split = ",", description = "Attention nodes as host:port, comma-separated.")
    List<String> attention;

    @Option(names = "--attention-dns", description = "Attention nodes as NAME:PORT of a DNS name with one address per node (a headless service), resolved again every --dns-interval-s.")
    String attentionDns;

    @Option(names = "--port", defaultValue = "8000", description = "HTTP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Mixin
    HostMixin bind;

    @Option(names = "--api-key", description = "Require 'Authorization: Bearer KEY' on /v1/*, /tokenize and /detokenize (/health, /metrics and /version stay open). Prefer --api-key-file or AFD_API_KEY: process arguments are visible to every user of the host.")
    String apiKey;

    @Option(names = "--api-key-file", description = "Read the API key from this file (its first line), e.g. a mounted Kubernetes secret.")
    Path apiKeyFile;

    @Option(names = "--max-body-bytes", defaultValue = "8388608", description = "Largest request body; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    int maxBodyBytes;

    @Option(names = "--max-body-bytes-in-flight", defaultValue = "268435456", description = "Most bytes of request bodies held at once over all connections; beyond it requests get 503 with Retry-After (default: ${DEFAULT-VALUE}).")
    long maxBodyBytesInFlight;

    @Option(names = "--headers-timeout-s", defaultValue = "10", description = "Time from a request's first byte to the end of its headers; slower clients get 408 (default: ${DEFAULT-VALUE}).")
    int headersTimeoutS;

    @Option(names = "--body-timeout-s", defaultValue = "60", description = "Time from a request's headers to the end of its body; slower clients get 408 (default: ${DEFAULT-VALUE}).")
    int bodyTimeoutS;

    @Option(names = "--idle-timeout-s", defaultValue = "60", description = "How long a keep-alive connection may wait for its next request (default: ${DEFAULT-VALUE}).")
    int idleTimeoutS;

    @Option(names = "--stream-stall-timeout-s", defaultValue = "30", description = "How long a streaming client may stop reading before its request is aborted and its connection closed (default: ${DEFAULT-VALUE}).")
    int streamStallTimeoutS;

    @Option(names = "--max-tokenizing", defaultValue = "0", description = "Most prompts tokenized at once; 0 means one per core (default: ${DEFAULT-VALUE}).")
    int maxTokenizing;

    @Option(names = "--max-inflight", defaultValue = "1024", description = "Most sequences (choices) in flight; beyond it requests get 503 with Retry-After (default: ${DEFAULT-VALUE}).")
    int maxInflight;

    @Option(names = "--drain-timeout-s", defaultValue = "30", description = "On SIGTERM, how long requests in flight may take to finish (default: ${DEFAULT-VALUE}).")
    int drainTimeoutS;

    @Option(names = "--io-threads", defaultValue = "2", description = "Event loop threads for HTTP and the node connections (default: ${DEFAULT-VALUE}).")
    int ioThreads;

    @Option(names = "--load-interval-ms", defaultValue = "250", description = "How often each attention node's load and health are checked (default: ${DEFAULT-VALUE}).")
    int loadIntervalMs;

    @Option(names = "--dns-interval-s", defaultValue = "5", description = "How often --attention-dns is resolved again (default: ${DEFAULT-VALUE}).")
    int dnsIntervalS;

    @Option(names = "--prefix-routing", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Send prompts that start alike (the same first 64 tokens) to the same attention node, where"
                    + " their prefix is cached, unless its queue is 4 or more requests longer than the least-loaded"
                    + " node's; --no-prefix-routing sends every request to the least-loaded node."
                    + " Default: ${DEFAULT-VALUE}.")
    boolean prefixRouting;

    @Option(names = "--reasoning-parser", description = "Split chat answers into reasoning (message.reasoning_content, delta.reasoning_content) and answer (content): 'step3' takes the text up to and including </think> as reasoning (default: none, answers stay whole).")
    String reasoningParser;

    @Option(names = "--tool-call-parser", description = "The model's tool-call format, which tool_choice 'auto' parses calls from: 'hermes' (<tool_call>{json}</tool_call>, the generated demo model's) or 'step3' (Step-3's <｜tool_calls_begin｜>...<steptml:invoke> format). Default: none ('auto' is refused; 'none', 'required' and a named function work without it).")
    String toolCallParser;

    @Mixin
    ExitWithMixin exitWith;

    @Mixin
    TlsMixin tls;

    @Mixin
    LogFormatMixin logFormat;

    @Mixin
    TracesMixin traces;

    @Override
    public Integer call() throws Exception {
        logFormat.install();
        boolean fixed = attention != null && !attention.isEmpty();
        boolean dns = attentionDns != null && !attentionDns.isBlank();
        if (fixed == dns) {
            throw new IllegalArgumentException("give the attention nodes with exactly one of --attention host:port,..."
                    + " and --attention-dns NAME:PORT");
        }
        Resolver resolver = fixed ? Resolver.fixed(attention) : Resolver.dns(attentionDns);
        Tracing tracing = traces.tracing("afd-gateway");
        HttpLimits limits = new HttpLimits(maxBodyBytes, maxBodyBytesInFlight, Duration.ofSeconds(headersTimeoutS),
                Duration.ofSeconds(bodyTimeoutS), Duration.ofSeconds(idleTimeoutS));
        GatewayOptions options = GatewayOptions.builder()
                .address(bind.host, port)
                .servedModelName(servedModelName)
                .apiKey(ApiKeys.resolve(apiKey, apiKeyFile))
                .http(limits)
                .maxInflight(maxInflight)
                .maxTokenizing(maxTokenizing > 0 ? maxTokenizing : Runtime.getRuntime().availableProcessors())
                .streamStallTimeout(Duration.ofSeconds(streamStallTimeoutS))
                .drainTimeout(Duration.ofSeconds(drainTimeoutS))
                .ioThreads(ioThreads)
                .intervals(Duration.ofMillis(loadIntervalMs), Duration.ofSeconds(dnsIntervalS))
                .tls(tls.tls())
                .prefixRouting(prefixRouting)
                .reasoningParser(reasoningParser == null ? null : ReasoningParser.named(reasoningParser))
                .toolCallParser(toolCallParser == null ? null : ToolCallParser.named(toolCallParser))
                .tracing(tracing)
                .build();
        Gateway gateway = Gateway.start(options, model, tokenizer, resolver);
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM and Ctrl-C run this: drain, then let the JVM exit. Printed directly: java.util.logging may already
        // be shut down by its own hook.
        PrintWriter err = spec.commandLine().getErr();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            err.println("afd gateway: stopping; requests in flight get up to " + drainTimeoutS + " s to finish");
            err.flush();
            gateway.close();
            tracing.close();
            err.println("afd gateway: stopped");
            err.flush();
            stopped.countDown();
        }, "afd-gateway-shutdown"));
        exitWith.watchParent();
        spec.commandLine().getOut().println("gateway serving '" + gateway.model().name() + "' on http://" + bind.host
                + ":" + gateway.port() + "/v1 in front of " + resolver.describe());
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
