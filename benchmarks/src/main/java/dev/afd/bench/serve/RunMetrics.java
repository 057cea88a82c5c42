package dev.afd.bench.serve;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One run's figures, with vLLM's definitions: TTFT from send to the first output chunk; TPOT per request
 * {@code (E2EL - TTFT) / (output tokens - 1)} (single-token outputs left out); ITL every gap between successive
 * output chunks, pooled over requests; E2EL from send to {@code [DONE]}. Throughputs divide by the run's duration
 * (first send to last outcome) and count successful requests only; goodput counts those that meet every SLO.
 *
 * @param errors failed requests by {@link RequestOutcome.Failure#key()}
 * @param errorSamples the first few failures' messages
 * @param goodput requests per second meeting the SLOs; NaN when no SLO was given
 */
public record RunMetrics(Load load, int completed, int failed, Map<String, Integer> errors, List<String> errorSamples,
        double durationSeconds, long inputTokens, long outputTokens, double requestThroughput, double inputThroughput,
        double outputThroughput, double goodput, int maxInFlight, Distribution ttft, Distribution tpot,
        Distribution itl, Distribution e2el) {
    private static final int ERROR_SAMPLES = 10;

    public static RunMetrics of(LoadGenerator.Run run, Slo slo) {
        double duration = run.durationNanos() / 1e9;
        List<Double> ttfts = new ArrayList<>();
        List<Double> tpots = new ArrayList<>();
        List<Double> itls = new ArrayList<>();
        List<Double> e2els = new ArrayList<>();
        Map<String, Integer> errors = new TreeMap<>();
        List<String> samples = new ArrayList<>();
        long input = 0;
        long output = 0;
        int completed = 0;
        int good = 0;
        for (RequestOutcome o : run.outcomes()) {
            if (!o.ok()) {
                errors.merge(o.failure().key(), 1, Integer::sum);
                if (samples.size() < ERROR_SAMPLES) {
                    samples.add(o.failure().toString());
                }
                continue;
            }
            completed++;
            input += Math.max(0, o.inputTokens());
            output += o.outputTokens();
            ttfts.add(o.ttftMs());
            e2els.add(o.e2elMs());
            if (!Double.isNaN(o.tpotMs())) {
                tpots.add(o.tpotMs());
            }
            for (long gap : o.itlNanos()) {
                itls.add(gap / 1e6);
            }
            if (slo.met(o.ttftMs(), o.tpotMs(), o.e2elMs())) {
                good++;
            }
        }
        return new RunMetrics(run.load(), completed, run.outcomes().size() - completed, errors, samples, duration,
                input, output, completed / duration, input / duration, output / duration,
                slo.any() ? good / duration : Double.NaN, run.maxInFlight(), distribution(ttfts),
                distribution(tpots), distribution(itls), distribution(e2els));
    }

    /** Input plus output tokens per second. */
    public double totalTokenThroughput() {
        return inputThroughput + outputThroughput;
    }

    /**
     * The run as JSON, under vLLM's result names ({@code request_throughput}, {@code mean_ttft_ms},
     * {@code median_ttft_ms}, {@code p99_ttft_ms}, ...) so tools written for {@code vllm bench serve} read it.
     */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("label", load.label());
        m.put("request_rate", Double.isInfinite(load.requestRate()) ? "inf" : load.requestRate());
        m.put("burstiness", load.burstiness());
        m.put("max_concurrency", load.maxConcurrency() > 0 ? load.maxConcurrency() : null);
        m.put("completed", completed);
        m.put("failed", failed);
        m.put("errors", errors);
        m.put("error_samples", errorSamples);
        m.put("duration", finite(durationSeconds));
        m.put("total_input_tokens", inputTokens);
        m.put("total_output_tokens", outputTokens);
        m.put("request_throughput", finite(requestThroughput));
        m.put("request_goodput", finite(goodput));
        m.put("input_throughput", finite(inputThroughput));
        m.put("output_throughput", finite(outputThroughput));
        m.put("total_token_throughput", finite(totalTokenThroughput()));
        m.put("max_concurrent_requests", maxInFlight);
        latency(m, "ttft", ttft);
        latency(m, "tpot", tpot);
        latency(m, "itl", itl);
        latency(m, "e2el", e2el);
        return m;
    }

    private static void latency(Map<String, Object> m, String name, Distribution d) {
        m.put("mean_" + name + "_ms", finite(d.mean()));
        m.put("median_" + name + "_ms", finite(d.p50()));
        m.put("p90_" + name + "_ms", finite(d.p90()));
        m.put("p99_" + name + "_ms", finite(d.p99()));
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static Distribution distribution(List<Double> values) {
        return Distribution.of(values.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
