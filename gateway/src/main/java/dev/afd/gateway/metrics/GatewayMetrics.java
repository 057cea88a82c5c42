package dev.afd.gateway.metrics;

import dev.afd.gateway.routing.ClusterLoad;
import dev.afd.gateway.routing.NodeLoad;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * The gateway's Prometheus metrics, with vLLM's names and meanings (colons are legal in Prometheus names, so the
 * {@code vllm:} names work as they are; dashboards and autoscalers built for vLLM read them unchanged) plus the
 * gateway's own under {@code afd_gateway_}. Engine-side gauges (queue, running, KV usage, preemptions) are the sums
 * over the ready attention nodes' last load reports. See METRICS.md for the list.
 *
 * <p>Thread-safe: Micrometer meters are.
 */
public final class GatewayMetrics {
    /** vLLM's bucket bounds, in seconds. */
    private static final double[] TTFT = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
        2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    private static final double[] ITL = {0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
        1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    private static final double[] E2E = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
        60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
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
    private Supplier<ClusterLoad> cluster;
    private int expertCounters;
    private final Set<String> holderCounters = ConcurrentHashMap.newKeySet();
    private final Set<String> prefixCacheMeters = ConcurrentHashMap.newKeySet();

    /**
     * @param cluster the ready attention nodes' summed load
     * @param inflight generation requests this gateway holds (admitted and not yet answered)
     */
    public GatewayMetrics(String modelName, int maxModelLen, Supplier<ClusterLoad> cluster, IntSupplier inflight) {
        this.model = Tags.of("model_name", modelName);
        Gauge.builder("vllm:num_requests_running", () -> cluster.get().running()).tags(model)
                .description("Requests in the attention nodes' running batches").register(registry);
        Gauge.builder("vllm:num_requests_waiting", () -> cluster.get().waiting()).tags(model)
                .description("Requests queued on the attention nodes").register(registry);
        Gauge.builder("vllm:kv_cache_usage_perc", () -> cluster.get().kvUsage()).tags(model)
                .description("Fraction of the attention nodes' KV blocks in use (0-1)").register(registry);
        FunctionCounter.builder("vllm:num_preemptions", cluster, c -> c.get().preemptions()).tags(model)
                .description("Sequences preempted (and recomputed later) by the attention nodes").register(registry);
        registerExchangeMetrics(cluster);
        Gauge.builder("afd_gateway_attention_nodes_ready", () -> cluster.get().readyNodes())
                .description("Attention nodes the gateway routes to").register(registry);
        Gauge.builder("afd_gateway_requests_inflight", inflight::getAsInt)
                .description("Generation requests admitted by the gateway and not yet answered").register(registry);
        stalled = Counter.builder("afd_gateway_stalled_streams")
                .description("Streams aborted because their client stopped reading").register(registry);
        promptTokens = Counter.builder("vllm:prompt_tokens").tags(model)
                .description("Prompt tokens sent to the attention nodes (per choice)").register(registry);
        generationTokens = Counter.builder("vllm:generation_tokens").tags(model)
                .description("Tokens generated").register(registry);
        ttft = timer("vllm:time_to_first_token", "Arrival at the gateway to the first token", TTFT);
        itl = timer("vllm:inter_token_latency", "Time between successive tokens of a choice", ITL);
        e2e = timer("vllm:e2e_request_latency", "Arrival at the gateway to the last token", E2E);
        double[] tokenBuckets = oneTwoFive(maxModelLen);
        requestPromptTokens = summary("vllm:request_prompt_tokens", "Prompt tokens per request", tokenBuckets);
        requestGenerationTokens = summary("vllm:request_generation_tokens", "Tokens generated per request",
                tokenBuckets);
        requestN = summary("vllm:request_params_n", "The n parameter of requests", new double[] {1, 2, 5, 10, 20});
    }

    /** AFD's own figures, summed over the attention nodes' reports (cumulative counters on each node). */
    private void registerExchangeMetrics(Supplier<ClusterLoad> cluster) {
        this.cluster = cluster;
        FunctionCounter.builder("afd_ffn_exchanges", cluster, c -> c.get().exchanges())
                .description("Per-layer exchanges (layer x micro-batch) between attention nodes and ffn-nodes")
                .register(registry);
        FunctionCounter.builder("afd_ffn_exchange_latency_seconds", cluster, c -> c.get().exchangeSeconds())
                .description("Summed per-layer exchange latency; divide its rate by afd_ffn_exchanges_total's")
                .register(registry);
        for (double q : new double[] {0.5, 0.9, 0.99}) {
            Gauge.builder("afd_ffn_exchange_latency_quantile_seconds", () -> cluster.get().exchangeLatencyQuantile(q))
                    .tag("quantile", Double.toString(q))
                    .description("Per-layer exchange latency quantile since start (histogram bucket upper bound)")
                    .register(registry);
        }
        FunctionCounter.builder("afd_ffn_timeouts", cluster, c -> c.get().timeouts())
                .description("Layer exchanges that missed their deadline").register(registry);
        FunctionCounter.builder("afd_ffn_reconnects", cluster, c -> c.get().reconnects())
                .description("Streams to ffn-nodes re-established after a failure").register(registry);
        FunctionCounter.builder("afd_ffn_failovers", cluster, c -> c.get().failovers())
                .description("Parts of layer exchanges re-sent to another holder after an ffn-node failed them")
                .register(registry);
        FunctionCounter.builder("afd_ffn_drains", cluster, c -> c.get().drains())
                .description("Drain notices from ffn-nodes shutting down").register(registry);
        Gauge.builder("afd_ffn_members", () -> cluster.get().ffnMembers())
                .description("ffn-nodes known to the attention nodes (summed over attention nodes)").register(registry);
        FunctionCounter.builder("afd_ffn_membership_changes", cluster, c -> c.get().membershipChanges())
                .description("ffn-nodes that joined or left through DNS").register(registry);
        FunctionCounter.builder("afd_ffn_wire_bytes", cluster, c -> c.get().bytesSent()).tag("direction", "to_ffn")
                .description("Bytes of activations and results on the attention-ffn wire").register(registry);
        FunctionCounter.builder("afd_ffn_wire_bytes", cluster, c -> c.get().bytesReceived())
                .tag("direction", "from_ffn")
                .description("Bytes of activations and results on the attention-ffn wire").register(registry);
    }

    /** Registers a routed-units counter for every ffn-node the attention nodes reported on. */
    private void registerHolderCounters() {
        for (String node : cluster.get().routedUnitsPerNode().keySet()) {
            if (holderCounters.add(node)) {
                FunctionCounter.builder("afd_ffn_routed_units", cluster,
                                c -> c.get().routedUnitsPerNode().getOrDefault(node, 0L))
                        .tag("node", node)
                        .description("Token slots computed by each ffn-node: how evenly replicas share the work")
                        .register(registry);
            }
        }
    }

    /**
     * Registers the prefix-cache meters of every attention node the gateway heard from, labelled with the node's
     * address: vLLM's query and hit counters (in tokens; their ratio is the hit rate), the cached blocks and the
     * evictions.
     */
    private void registerPrefixCacheMeters() {
        for (String node : cluster.get().prefixCaches().keySet()) {
            if (prefixCacheMeters.add(node)) {
                Tags tags = model.and("attention_node", node);
                FunctionCounter.builder("vllm:prefix_cache_queries", cluster,
                                c -> prefixCache(c, node, NodeLoad.PrefixCacheLoad::queriedTokens))
                        .tags(tags).description("Prompt tokens looked up in the attention node's prefix cache")
                        .register(registry);
                FunctionCounter.builder("vllm:prefix_cache_hits", cluster,
                                c -> prefixCache(c, node, NodeLoad.PrefixCacheLoad::hitTokens))
                        .tags(tags).description("Prompt tokens found in the attention node's prefix cache")
                        .register(registry);
                Gauge.builder("afd_kv_cached_blocks", cluster,
                                c -> prefixCache(c, node, NodeLoad.PrefixCacheLoad::cachedBlocks))
                        .tags(tags).description("KV blocks no sequence holds that keep a cached prefix")
                        .register(registry);
                FunctionCounter.builder("afd_kv_evictions", cluster,
                                c -> prefixCache(c, node, NodeLoad.PrefixCacheLoad::evictions))
                        .tags(tags).description("Cached KV blocks evicted to make room").register(registry);
            }
        }
    }

    private static double prefixCache(Supplier<ClusterLoad> cluster, String node,
            ToLongFunction<NodeLoad.PrefixCacheLoad> field) {
        NodeLoad.PrefixCacheLoad p = cluster.get().prefixCaches().get(node);
        return p == null ? 0 : field.applyAsLong(p);
    }

    /** Registers a routed-tokens counter for every expert the nodes reported on; cheap when nothing is new. */
    private void registerExpertCounters() {
        int experts = cluster.get().experts();
        for (int e = expertCounters; e < experts; e++) {
            int expert = e;
            FunctionCounter.builder("afd_expert_routed_tokens", cluster, c -> c.get().tokensRoutedTo(expert))
                    .tag("expert", Integer.toString(expert))
                    .description("Token slots routed to each expert over all MoE layers").register(registry);
        }
        expertCounters = Math.max(expertCounters, experts);
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
        success.computeIfAbsent(reason, r -> Counter.builder("vllm:request_success").tags(model)
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
    public synchronized String scrape() {
        registerExpertCounters();
        registerHolderCounters();
        registerPrefixCacheMeters();
        return registry.scrape();
    }

    private Timer timer(String name, String help, double[] bucketsSeconds) {
        return Timer.builder(name).tags(model).description(help)
                .serviceLevelObjectives(Arrays.stream(bucketsSeconds)
                        .mapToObj(s -> Duration.ofNanos((long) (s * 1e9))).toArray(Duration[]::new))
                .register(registry);
    }

    private DistributionSummary summary(String name, String help, double[] buckets) {
        return DistributionSummary.builder(name).tags(model).description(help).serviceLevelObjectives(buckets)
                .register(registry);
    }

    /** 1, 2, 5, 10, 20, 50, ... up to {@code max}, as vLLM buckets token counts. */
    static double[] oneTwoFive(int max) {
        List<Double> out = new ArrayList<>();
        for (long decade = 1; decade <= max; decade *= 10) {
            for (long m : new long[] {1, 2, 5}) {
                if (m * decade <= max) {
                    out.add((double) (m * decade));
                }
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
