package dev.afd.attention.metrics;

import dev.afd.attention.engine.EngineLoad;
import dev.afd.attention.engine.RequestObserver;
import dev.afd.attention.engine.RequestTimeline;
import dev.afd.attention.kv.KvGroupUsage;
import dev.afd.metrics.ProcessMeters;
import dev.afd.metrics.Buckets;
import dev.afd.proto.FfnExchangeStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * One attention node's metrics, in the Prometheus text format: vLLM's engine metrics with vLLM's names, label
 * ({@code model_name}) and buckets, measured where the work is (this engine's queue, batch, KV cache and requests,
 * from submit to last token), the AFD exchange with the ffn-nodes ({@link ExchangeCollector}), and the JVM's. Each
 * node reports its own; {@code sum()} over the pods gives the cluster. See gateway/METRICS.md for the list.
 *
 * <p>Threading: the {@link RequestObserver} methods run on the engine thread; {@link #scrape} on any thread. Micrometer
 * meters are thread-safe.
 *
 * <p>Ownership: owns its registry and JVM meters until {@link #close()}.
 */
public final class AttentionMetrics implements RequestObserver, AutoCloseable {
    /** vLLM's finish reasons, plus {@code error}: their counters exist (at 0) from start. */
    private static final String[] FINISH_REASONS = {"stop", "length", "abort", "error"};

    private final ProcessMeters process = new ProcessMeters();
    private final PrometheusMeterRegistry registry = process.registry();
    private final Tags model;
    private final Counter promptTokens;
    private final Counter generationTokens;
    private final Timer ttft;
    private final Timer itl;
    private final Timer e2e;
    private final Timer queue;
    private final Timer prefill;
    private final Timer decode;
    private final Timer inference;
    private final DistributionSummary requestPromptTokens;
    private final DistributionSummary requestGenerationTokens;
    private final Map<String, Counter> success;
    private final Counter drafts;
    private final Counter draftTokens;
    private final Counter acceptedTokens;
    /** Accepted drafts by position in the draft, registered as positions first occur. Engine thread only. */
    private final List<Counter> acceptedPerPosition = new ArrayList<>();
    /** The engine's load, held here: Micrometer's function meters keep only a weak reference to what they read. */
    private Supplier<EngineLoad> engineLoad;

    /**
     * @param modelName the {@code model_name} label, as the gateway names the model
     * @param maxModelLen the context length: the token-count histograms' largest bucket
     */
    public AttentionMetrics(String modelName, int maxModelLen) {
        this.model = Tags.of("model_name", modelName);
        promptTokens = Counter.builder("vllm:prompt_tokens").tags(model)
                .description("Prompt tokens of requests that got their first token").register(registry);
        generationTokens = Counter.builder("vllm:generation_tokens").tags(model)
                .description("Tokens generated").register(registry);
        ttft = timer("vllm:time_to_first_token", "Arrival on this node to the first token", Buckets.TTFT);
        itl = timer("vllm:inter_token_latency", "Time between successive tokens of a request", Buckets.ITL);
        e2e = timer("vllm:e2e_request_latency", "Arrival on this node to the request's end",
                Buckets.REQUEST_LATENCY);
        queue = timer("vllm:request_queue_time", "Arrival to the request's first step (waiting)",
                Buckets.REQUEST_LATENCY);
        prefill = timer("vllm:request_prefill_time", "First step to first token",
                Buckets.REQUEST_LATENCY);
        decode = timer("vllm:request_decode_time", "First token to last token", Buckets.REQUEST_LATENCY);
        inference = timer("vllm:request_inference_time", "First step to last token (prefill and decode)",
                Buckets.REQUEST_LATENCY);
        double[] tokenBuckets = Buckets.oneTwoFive(maxModelLen);
        requestPromptTokens = summary("vllm:request_prompt_tokens", "Prompt tokens per finished request",
                tokenBuckets);
        requestGenerationTokens = summary("vllm:request_generation_tokens", "Tokens generated per finished request",
                tokenBuckets);
        success = Arrays.stream(FINISH_REASONS).collect(Collectors.toUnmodifiableMap(r -> r,
                r -> Counter.builder("vllm:request_success").tags(model).tag("finished_reason", r)
                        .description("Finished requests by finish reason").register(registry)));
        drafts = Counter.builder("vllm:spec_decode_num_drafts").tags(model)
                .description("Speculative decoding: sequence steps that verified drafts").register(registry);
        draftTokens = Counter.builder("vllm:spec_decode_num_draft_tokens").tags(model)
                .description("Speculative decoding: draft tokens verified").register(registry);
        acceptedTokens = Counter.builder("vllm:spec_decode_num_accepted_tokens").tags(model)
                .description("Speculative decoding: draft tokens accepted").register(registry);
    }

    /** Publishes the engine's load: queue, batch, KV cache, preemptions and prefix cache, read at each scrape. */
    public void watchEngine(Supplier<EngineLoad> load) {
        engineLoad = load;
        gauge("vllm:num_requests_running", "Requests in the running batch (holding KV blocks)", load,
                l -> l.running());
        gauge("vllm:num_requests_waiting", "Requests waiting to be scheduled: the autoscaling signal", load,
                l -> l.waiting());
        gauge("vllm:kv_cache_usage_perc", "Fraction of KV blocks held by sequences (0-1); cached ones count as free",
                load, AttentionMetrics::kvUsage);
        counter("vllm:num_preemptions", "Sequences preempted (their KV blocks freed, recomputed later)", load,
                l -> l.preemptions());
        counter("vllm:prefix_cache_queries", "Prompt tokens of admitted requests looked up in the prefix cache",
                load, l -> l.prefixQueriedTokens());
        counter("vllm:prefix_cache_hits", "Of those, tokens found cached and not computed again", load,
                l -> l.prefixHitTokens());
        gauge("afd_kv_cached_blocks", "KV blocks no sequence holds that keep a cached prefix", load,
                l -> l.kvBlocksCached());
        counter("afd_kv_evictions", "Cached KV blocks evicted to make room", load, l -> l.kvEvictions());
        // The groups are fixed at start-up: the load already names them.
        for (KvGroupUsage u : load.get().kvGroups()) {
            kvGroupGauge(u.group(), "used", load, KvGroupUsage::used);
            kvGroupGauge(u.group(), "free", load, KvGroupUsage::free);
            kvGroupGauge(u.group(), "cached", load, KvGroupUsage::cached);
        }
    }

    /**
     * {@code afd_kv_blocks{group, state}}: one KV group's blocks in one state (free counts the cached ones, as
     * everywhere), so that a sliding-window group's flat use shows next to the full-attention group's growth.
     */
    private void kvGroupGauge(String group, String state, Supplier<EngineLoad> load,
            ToDoubleFunction<KvGroupUsage> value) {
        Gauge.builder("afd_kv_blocks", load, l -> l.get().kvGroups().stream().filter(u -> u.group().equals(group))
                        .mapToDouble(value).sum())
                .tags(model).tag("group", group).tag("state", state)
                .description("KV blocks of one group (full attention, sliding window) by state; free includes cached")
                .register(registry);
    }

    /** Publishes the exchange with the ffn-nodes, from one snapshot of its cumulative statistics per scrape. */
    public void watchExchange(Supplier<FfnExchangeStats> stats) {
        registry.getPrometheusRegistry().register(new ExchangeCollector(stats));
    }

    @Override
    public void firstToken(long nanos, int promptTokenCount) {
        ttft.record(nanos, TimeUnit.NANOSECONDS);
        promptTokens.increment(promptTokenCount);
        generationTokens.increment();
    }

    @Override
    public void nextToken(long nanos) {
        itl.record(nanos, TimeUnit.NANOSECONDS);
        generationTokens.increment();
    }

    @Override
    public void drafted(int draftCount, int accepted) {
        drafts.increment();
        draftTokens.increment(draftCount);
        acceptedTokens.increment(accepted);
        while (acceptedPerPosition.size() < draftCount) {
            acceptedPerPosition.add(Counter.builder("vllm:spec_decode_num_accepted_tokens_per_pos").tags(model)
                    .tag("position", Integer.toString(acceptedPerPosition.size()))
                    .description("Speculative decoding: draft tokens accepted, by position in the draft")
                    .register(registry));
        }
        for (int position = 0; position < accepted; position++) {
            acceptedPerPosition.get(position).increment();
        }
    }

    @Override
    public void finished(String finishReason, RequestTimeline t) {
        success.get(finishReason).increment();
        e2e.record(t.e2eNanos(), TimeUnit.NANOSECONDS);
        queue.record(t.queueNanos(), TimeUnit.NANOSECONDS);
        requestPromptTokens.record(t.promptTokens());
        requestGenerationTokens.record(t.generatedTokens());
        if (t.hasTokens()) {
            prefill.record(t.prefillNanos(), TimeUnit.NANOSECONDS);
            decode.record(t.decodeNanos(), TimeUnit.NANOSECONDS);
            inference.record(t.inferenceNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** The Prometheus text exposition. */
    public String scrape() {
        return registry.scrape();
    }

    @Override
    public void close() {
        process.close();
    }

    private static double kvUsage(EngineLoad l) {
        long total = l.kvBlocksUsed() + l.kvBlocksFree();
        return total == 0 ? 0 : (double) l.kvBlocksUsed() / total;
    }

    private void gauge(String name, String help, Supplier<EngineLoad> load, ToDoubleFunction<EngineLoad> value) {
        Gauge.builder(name, load, l -> value.applyAsDouble(l.get())).tags(model).description(help)
                .register(registry);
    }

    private void counter(String name, String help, Supplier<EngineLoad> load, ToDoubleFunction<EngineLoad> value) {
        FunctionCounter.builder(name, load, l -> value.applyAsDouble(l.get())).tags(model).description(help)
                .register(registry);
    }

    private Timer timer(String name, String help, double[] bucketsSeconds) {
        return Buckets.timer(registry, name, help, model, bucketsSeconds);
    }

    private DistributionSummary summary(String name, String help, double[] buckets) {
        return Buckets.summary(registry, name, help, model, buckets);
    }
}
