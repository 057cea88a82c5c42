package dev.afd.metrics;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Histogram bucket bounds: vLLM's for vLLM's metrics, so that dashboards and alerts written for vLLM read ours
 * unchanged, and AFD's own for the per-layer work between attention nodes and ffn-nodes.
 */
public final class Buckets {
    /** Time to first token, seconds. */
    public static final double[] TTFT = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
        2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    /** Inter-token latency, seconds. */
    public static final double[] ITL = {0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
        1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    /** End-to-end latency and the request phases (queue, prefill, decode, inference), seconds. */
    public static final double[] REQUEST_LATENCY = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
        40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

    /** A per-layer exchange or an ffn-node's compute on one frame, seconds: 1-2-5 steps from 50 us to 10 s. */
    public static final double[] LAYER = {5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1,
        2, 5, 10};

    private Buckets() {}

    /** A timer exported as a histogram with these bounds (seconds), registered in {@code registry}. */
    public static Timer timer(MeterRegistry registry, String name, String help, Tags tags, double[] bucketsSeconds) {
        return Timer.builder(name).tags(tags).description(help).serviceLevelObjectives(durations(bucketsSeconds))
                .register(registry);
    }

    /** A distribution summary exported as a histogram with these bounds, registered in {@code registry}. */
    public static DistributionSummary summary(MeterRegistry registry, String name, String help, Tags tags,
            double[] buckets) {
        return DistributionSummary.builder(name).tags(tags).description(help).serviceLevelObjectives(buckets)
                .register(registry);
    }

    private static Duration[] durations(double[] seconds) {
        return Arrays.stream(seconds).mapToObj(s -> Duration.ofNanos((long) (s * 1e9))).toArray(Duration[]::new);
    }

    /** 1, 2, 5, 10, 20, 50, ... up to {@code max}, as vLLM buckets token counts. */
    public static double[] oneTwoFive(int max) {
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
