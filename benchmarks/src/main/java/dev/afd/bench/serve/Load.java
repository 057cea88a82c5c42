package dev.afd.bench.serve;

import java.math.BigDecimal;

/**
 * How requests are offered in one run.
 *
 * @param requestRate requests per second, open loop; infinite sends every request at once
 * @param burstiness the gamma shape of inter-arrival times (1 = Poisson)
 * @param maxConcurrency the most requests in flight (0 = no limit); with an infinite rate this is a closed loop of
 *     that many clients, each sending its next request when the last one finishes
 */
public record Load(double requestRate, double burstiness, int maxConcurrency) {
    public Load {
        if (maxConcurrency < 0) {
            throw new IllegalArgumentException("--max-concurrency must be >= 1 (or absent), got " + maxConcurrency);
        }
    }

    /** The run's name in tables and plots, e.g. {@code rate 4/s}, {@code concurrency 8}, {@code rate 4/s, concurrency 8}. */
    public String label() {
        String rate = Double.isInfinite(requestRate) ? null : "rate " + number(requestRate) + "/s";
        String concurrency = maxConcurrency > 0 ? "concurrency " + maxConcurrency : null;
        if (rate == null && concurrency == null) {
            return "all at once";
        }
        return rate == null ? concurrency : concurrency == null ? rate : rate + ", " + concurrency;
    }

    private static String number(double v) {
        return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }
}
