package dev.afd.bench.serve;

import java.util.Arrays;

/**
 * Mean and percentiles of a latency, in milliseconds; NaN when there were no samples. Percentiles interpolate
 * linearly between the nearest ranks (numpy's default, which vLLM's figures use).
 */
public record Distribution(int count, double mean, double p50, double p90, double p99) {
    public static Distribution of(double[] samples) {
        if (samples.length == 0) {
            return new Distribution(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        double[] sorted = samples.clone();
        Arrays.sort(sorted);
        double sum = 0;
        for (double v : sorted) {
            sum += v;
        }
        return new Distribution(sorted.length, sum / sorted.length, percentile(sorted, 50), percentile(sorted, 90),
                percentile(sorted, 99));
    }

    /** The {@code q}-th percentile of sorted samples: rank {@code q/100 * (n-1)}, interpolated. */
    static double percentile(double[] sorted, double q) {
        double rank = q / 100 * (sorted.length - 1);
        int below = (int) Math.floor(rank);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }
}
