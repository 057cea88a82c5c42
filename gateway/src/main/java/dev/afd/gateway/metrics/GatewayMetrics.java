package dev.afd.gateway.metrics;

import dev.afd.metrics.Buckets;
import dev.afd.metrics.ProcessMeters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The gateway's Prometheus metrics: what it sees of HTTP requests (latencies from arrival, tokenization included, to
 * the client's tokens; sizes; finish reasons; rejections), all under {@code afd_gateway_}, and the JVM's. The engine's
 * figures (queue, batch, KV cache, vLLM's {@code vllm:} names) come from each attention node's own {@code /metrics}:
 * the gateway does not repeat them, so a {@code sum()} over every pod counts each thing once. Its request metrics
 * mirror vLLM's in meaning and buckets, under their own names for the same reason. See METRICS.md for the list.
 *
 * <p>Thread-safe: Micrometer meters are.
 */
public final class GatewayMetrics implements AutoCloseable {
    private final ProcessMeters process = new ProcessMeters();
    private final PrometheusMeterRegistry registry = process.registry();
    private final Tags model;
    private final Counter promptTokens;
    private final Counter generationTokens;
    private final Timer ttft;
    private final Timer itl;
    private final Timer e2e;
    private final DistributionSummary requestPromptTokens;
    private final DistributionSummary requestGenerationTokens;
    private final DistributionSummary requestN;
    private final Map<String, Counter> success = new ConcurrentHashMap<>();
    private final Map<String, Counter> rejected = new ConcurrentHashMap<>();
    private final Map<String, Counter> http = new ConcurrentHashMap<>();
    private final Counter stalled;

    /**
     * @param readyNodes attention nodes the router may use now
     * @param inflight generation requests this gateway holds (admitted and not yet answered)
     */
    public GatewayMetrics(String modelName, int maxModelLen, IntSupplier readyNodes, IntSupplier inflight) {
        this.model = Tags.of("model_name", modelName);
        Gauge.builder("afd_gateway_attention_nodes_ready", readyNodes::getAsInt)
                .description("Attention nodes the gateway routes to").register(registry);
        Gauge.builder("afd_gateway_requests_inflight", inflight::getAsInt)
                .description("Generation requests admitted by the gateway and not yet answered").register(registry);
        stalled = Counter.builder("afd_gateway_stalled_streams")
                .description("Streams aborted because their client stopped reading").register(registry);
        promptTokens = Counter.builder("afd_gateway_prompt_tokens").tags(model)
                .description("Prompt tokens sent to the attention nodes (per choice)").register(registry);
        generationTokens = Counter.builder("afd_gateway_generation_tokens").tags(model)
                .description("Tokens streamed to clients").register(registry);
        ttft = timer("afd_gateway_time_to_first_token", "Arrival at the gateway to the first token",
                Buckets.TTFT);
        itl = timer("afd_gateway_inter_token_latency", "Time between successive tokens of a choice", Buckets.ITL);
        e2e = timer("afd_gateway_e2e_request_latency", "Arrival at the gateway to the last token",
                Buckets.REQUEST_LATENCY);
        double[] tokenBuckets = Buckets.oneTwoFive(maxModelLen);
        requestPromptTokens = summary("afd_gateway_request_prompt_tokens", "Prompt tokens per request",
                tokenBuckets);
        requestGenerationTokens = summary("afd_gateway_request_generation_tokens", "Tokens generated per request",
                tokenBuckets);
        requestN = summary("afd_gateway_request_params_n", "The n parameter of requests",
                new double[] {1, 2, 5, 10, 20});
    }

    public void promptTokens(int n) {
        promptTokens.increment(n);
    }

    public void generationTokens(int n) {
        generationTokens.increment(n);
    }

    public void timeToFirstToken(long nanos) {
        ttft.record(nanos, TimeUnit.NANOSECONDS);
    }

    public void interTokenLatency(long nanos) {
        itl.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** A request answered in full: its latency, size and each choice's finish reason. */
    public void requestFinished(long nanos, int promptTokenCount, int generatedTokenCount, int n) {
        e2e.record(nanos, TimeUnit.NANOSECONDS);
        requestPromptTokens.record(promptTokenCount);
        requestGenerationTokens.record(generatedTokenCount);
        requestN.record(n);
    }

    /** One choice ended: {@code reason} is stop, length, abort or error. */
    public void choiceFinished(String reason) {
        success.computeIfAbsent(reason, r -> Counter.builder("afd_gateway_request_success").tags(model)
                .tag("finished_reason", r).description("Finished requests by finish reason").register(registry))
                .increment();
    }

    /** A request turned away with 503: {@code reason} is overloaded, no_ready_node or draining. */
    public void rejected(String reason) {
        rejected.computeIfAbsent(reason, r -> Counter.builder("afd_gateway_rejected_requests").tag("reason", r)
                .description("Requests answered 503 before reaching a node").register(registry)).increment();
    }

    /** A stream's client stopped reading for the stall timeout; its request was aborted. */
    public void streamStalled() {
        stalled.increment();
    }

    /** Publishes the bytes of request bodies the HTTP server holds (read, not yet parsed). */
    public void bodyBytesHeld(LongSupplier held) {
        Gauge.builder("afd_gateway_http_body_bytes", held::getAsLong)
                .description("Bytes of request bodies held by the HTTP server (capped by --max-body-bytes-in-flight)")
                .register(registry);
    }

    /** An HTTP response was sent. */
    public void httpResponse(String handler, String method, int status) {
        String key = handler + ' ' + method + ' ' + status;
        http.computeIfAbsent(key, k -> Counter.builder("http_requests").tag("handler", handler).tag("method", method)
                .tag("status", status / 100 + "xx").description("HTTP responses by route and status class")
                .register(registry)).increment();
    }

    /** The Prometheus text exposition. */
    public String scrape() {
        return registry.scrape();
    }

    /** Stops the JVM meters' GC listening. */
    @Override
    public void close() {
        process.close();
    }

    private Timer timer(String name, String help, double[] bucketsSeconds) {
        return Buckets.timer(registry, name, help, model, bucketsSeconds);
    }

    private DistributionSummary summary(String name, String help, double[] buckets) {
        return Buckets.summary(registry, name, help, model, buckets);
    }
}
