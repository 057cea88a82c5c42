package dev.afd.gateway;

import dev.afd.gateway.http.HttpLimits;
import dev.afd.gateway.reasoning.ReasoningParser;
import dev.afd.gateway.toolcalls.ToolCallParser;
import dev.afd.telemetry.Tracing;
import dev.afd.transport.MutualTls;
import java.time.Duration;

/**
 * How the gateway runs. Built once with {@link #builder()} (every field starts at its default).
 *
 * @param host address to bind
 * @param port HTTP port (0 picks a free one)
 * @param servedModelName the model name clients use, or null for the model folder's name
 * @param apiKey when set, {@code /v1/*}, {@code /tokenize} and {@code /detokenize} need
 *     {@code Authorization: Bearer <apiKey>}; {@code /health}, {@code /metrics} and {@code /version} stay open
 * @param http what one client may cost: body sizes, bodies in flight, header/body/idle timeouts
 * @param maxInflight most sequences (choices) admitted at once; beyond it requests get 503 with Retry-After
 * @param maxTokenizing most prompts tokenized or rendered at once; others wait for a turn
 * @param streamStallTimeout how long a stream's client may stop reading before its request is aborted
 * @param drainTimeout on shutdown, how long requests in flight may take to finish before they are aborted
 * @param ioThreads event loop threads for HTTP and the attention-node channels
 * @param loadInterval how often each attention node's load is polled (also its health check)
 * @param resolveInterval how often the attention nodes' DNS name is resolved again
 * @param tls mutual TLS towards the attention nodes, or null for plaintext
 * @param prefixRouting send prompts that start alike to the same attention node, where their prefix is cached
 *     (else every request goes to the least-loaded node)
 * @param tracing where each request's span goes; the caller closes it after the gateway
 * @param reasoningParser splits chat answers into {@code reasoning_content} and {@code content}, or null to leave
 *     them whole
 * @param toolCallParser the model's tool-call format, which {@code tool_choice: "auto"} parses calls from, or null
 *     for none (then {@code auto} is refused)
 */
public record GatewayOptions(String host, int port, String servedModelName, String apiKey, HttpLimits http,
        int maxInflight, int maxTokenizing, Duration streamStallTimeout, Duration drainTimeout, int ioThreads,
        Duration loadInterval, Duration resolveInterval, MutualTls tls, boolean prefixRouting, Tracing tracing,
        ReasoningParser reasoningParser, ToolCallParser toolCallParser) {
    public static final int DEFAULT_PORT = 8000;
    public static final int DEFAULT_MAX_INFLIGHT = 1024;

    public GatewayOptions {
        if (maxInflight < 1) {
            throw new IllegalArgumentException("the in-flight limit must be at least 1, got " + maxInflight);
        }
        if (maxTokenizing < 1) {
            throw new IllegalArgumentException("the tokenization limit must be at least 1, got " + maxTokenizing);
        }
        if (ioThreads < 1) {
            throw new IllegalArgumentException("I/O threads must be at least 1, got " + ioThreads);
        }
        if (streamStallTimeout.isNegative() || streamStallTimeout.isZero()) {
            throw new IllegalArgumentException("the stream stall timeout must be positive, got "
                    + streamStallTimeout);
        }
    }

    /** Every default: see {@link Builder}. */
    public static GatewayOptions defaults() {
        return builder().build();
    }

    /**
     * All interfaces, port 8000, no API key, {@link HttpLimits#defaults()}, 1024 sequences, one tokenization per
     * core, 30 s stream stall, 30 s drain, 2 I/O threads, load polled every 250 ms, DNS every 5 s, plaintext,
     * prefix routing, no traces exported, no reasoning or tool-call parser.
     */
    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.host = host;
        b.port = port;
        b.servedModelName = servedModelName;
        b.apiKey = apiKey;
        b.http = http;
        b.maxInflight = maxInflight;
        b.maxTokenizing = maxTokenizing;
        b.streamStallTimeout = streamStallTimeout;
        b.drainTimeout = drainTimeout;
        b.ioThreads = ioThreads;
        b.loadInterval = loadInterval;
        b.resolveInterval = resolveInterval;
        b.tls = tls;
        b.prefixRouting = prefixRouting;
        b.tracing = tracing;
        b.reasoningParser = reasoningParser;
        b.toolCallParser = toolCallParser;
        return b;
    }

    /** Collects options; {@link #build} checks them. Not thread-safe. */
    public static final class Builder {
        private String host = "0.0.0.0";
        private int port = DEFAULT_PORT;
        private String servedModelName;
        private String apiKey;
        private HttpLimits http = HttpLimits.defaults();
        private int maxInflight = DEFAULT_MAX_INFLIGHT;
        private int maxTokenizing = Runtime.getRuntime().availableProcessors();
        private Duration streamStallTimeout = Duration.ofSeconds(30);
        private Duration drainTimeout = Duration.ofSeconds(30);
        private int ioThreads = 2;
        private Duration loadInterval = Duration.ofMillis(250);
        private Duration resolveInterval = Duration.ofSeconds(5);
        private MutualTls tls;
        private boolean prefixRouting = true;
        private Tracing tracing = Tracing.off();
        private ReasoningParser reasoningParser;
        private ToolCallParser toolCallParser;

        private Builder() {}

        public Builder address(String bindHost, int bindPort) {
            this.host = bindHost;
            this.port = bindPort;
            return this;
        }

        public Builder servedModelName(String name) {
            this.servedModelName = name;
            return this;
        }

        public Builder apiKey(String key) {
            this.apiKey = key;
            return this;
        }

        public Builder http(HttpLimits limits) {
            this.http = limits;
            return this;
        }

        public Builder maxInflight(int sequences) {
            this.maxInflight = sequences;
            return this;
        }

        public Builder maxTokenizing(int prompts) {
            this.maxTokenizing = prompts;
            return this;
        }

        public Builder streamStallTimeout(Duration d) {
            this.streamStallTimeout = d;
            return this;
        }

        public Builder drainTimeout(Duration d) {
            this.drainTimeout = d;
            return this;
        }

        public Builder ioThreads(int n) {
            this.ioThreads = n;
            return this;
        }

        public Builder intervals(Duration load, Duration resolve) {
            this.loadInterval = load;
            this.resolveInterval = resolve;
            return this;
        }

        public Builder tls(MutualTls t) {
            this.tls = t;
            return this;
        }

        public Builder prefixRouting(boolean on) {
            this.prefixRouting = on;
            return this;
        }

        public Builder tracing(Tracing t) {
            this.tracing = t;
            return this;
        }

        public Builder reasoningParser(ReasoningParser p) {
            this.reasoningParser = p;
            return this;
        }

        public Builder toolCallParser(ToolCallParser p) {
            this.toolCallParser = p;
            return this;
        }

        public GatewayOptions build() {
            return new GatewayOptions(host, port, servedModelName, apiKey, http, maxInflight, maxTokenizing,
                    streamStallTimeout, drainTimeout, ioThreads, loadInterval, resolveInterval, tls, prefixRouting,
                    tracing, reasoningParser, toolCallParser);
        }
    }
}
