package dev.afd.attention.ffn;

import java.util.Arrays;

/**
 * Per-layer exchange latency and bytes on the wire, for benchmarks and metrics. Keeps the most recent
 * {@link #CAPACITY} latencies.
 *
 * <p>Threading: recorded from transport threads, read from any thread; every method is synchronized (recording is
 * a few stores, far cheaper than an exchange).
 */
public final class ExchangeStats {
    public static final int CAPACITY = 1 << 16;

    /** A summary: exchanges counted, latency percentiles in microseconds, bytes sent and received. */
    public record Snapshot(long exchanges, double p50Micros, double p99Micros, long bytesSent, long bytesReceived) {}

    private final long[] latencies = new long[CAPACITY];
    private long count;
    private long bytesSent;
    private long bytesReceived;

    synchronized void record(long nanos, long sent, long received) {
        latencies[(int) (count % CAPACITY)] = nanos;
        count++;
        bytesSent += sent;
        bytesReceived += received;
    }

    public synchronized Snapshot snapshot() {
        int n = (int) Math.min(count, CAPACITY);
        long[] sorted = Arrays.copyOf(latencies, n);
        Arrays.sort(sorted);
        return new Snapshot(count, percentile(sorted, 0.50) / 1e3, percentile(sorted, 0.99) / 1e3, bytesSent,
                bytesReceived);
    }

    public synchronized void reset() {
        count = 0;
        bytesSent = 0;
        bytesReceived = 0;
    }

    private static double percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    }
}
