package dev.afd.attention.ffn;

import dev.afd.metrics.Buckets;
import dev.afd.proto.FfnExchangeStats;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * The attention node's side of the per-layer exchange: latency (a histogram for metrics, and the most recent
 * {@link #CAPACITY} samples for exact benchmark percentiles), bytes on the wire, tokens routed per expert, and
 * timeouts.
 *
 * <p>Threading: recorded from the engine and transport threads, read from any thread; every method is synchronized
 * (recording is a few stores, far cheaper than an exchange).
 */
public final class ExchangeStats {
    public static final int CAPACITY = 1 << 16;
    /** Histogram bounds in seconds: 1-2-5 steps from 50 µs to 10 s. */
    static final double[] BOUNDS = Buckets.LAYER;

    /**
     * A summary of the recent samples: exchanges counted, latency percentiles in microseconds, bytes each way, and
     * the percentiles of one node's part of an exchange without the node's own compute time (the overhead: wire,
     * queues, threads).
     */
    public record Snapshot(long exchanges, double p50Micros, double p99Micros, long bytesSent, long bytesReceived,
            long parts, double overheadP50Micros, double overheadP99Micros) {}

    private final long[] recent = new long[CAPACITY];
    private final long[] overheads = new long[CAPACITY];
    private long parts;
    private final long[] bucketCounts = new long[BOUNDS.length];
    private final long[] tokensPerExpert;
    private long count;
    private long sumNanos;
    private long bytesSent;
    private long bytesReceived;
    private long timeouts;
    private long failovers;
    /** Routed units computed per ffn-node, by node name. */
    private final Map<String, Long> holderUnits = new TreeMap<>();

    ExchangeStats(int numExperts) {
        this.tokensPerExpert = new long[numExperts];
    }

    synchronized void record(long nanos, long sent, long received) {
        recent[(int) (count % CAPACITY)] = nanos;
        count++;
        sumNanos += nanos;
        bytesSent += sent;
        bytesReceived += received;
        for (int b = 0; b < BOUNDS.length; b++) {
            if (nanos <= BOUNDS[b] * 1e9) {
                bucketCounts[b]++;
            }
        }
    }

    synchronized void routed(int[] experts) {
        for (int e : experts) {
            if (e >= 0 && e < tokensPerExpert.length) {
                tokensPerExpert[e]++;
            }
        }
    }

    /** One node answered its part of an exchange {@code overheadNanos} after it was sent, beyond its compute time. */
    synchronized void partAnswered(long overheadNanos) {
        overheads[(int) (parts % CAPACITY)] = overheadNanos;
        parts++;
    }

    synchronized void timedOut() {
        timeouts++;
    }

    /** A node's part of an exchange went to other holders. */
    synchronized void failedOver() {
        failovers++;
    }

    synchronized void holderUnits(String node, int routedUnits) {
        holderUnits.merge(node, (long) routedUnits, Long::sum);
    }

    /** Routed units computed per ffn-node so far, by node name. */
    public synchronized Map<String, Long> holderUnits() {
        return Map.copyOf(holderUnits);
    }

    public synchronized long failovers() {
        return failovers;
    }

    /** Percentiles over the most recent exchanges, for benchmarks. */
    public synchronized Snapshot snapshot() {
        long[] sorted = Arrays.copyOf(recent, (int) Math.min(count, CAPACITY));
        Arrays.sort(sorted);
        long[] over = Arrays.copyOf(overheads, (int) Math.min(parts, CAPACITY));
        Arrays.sort(over);
        return new Snapshot(count, percentile(sorted, 0.50) / 1e3, percentile(sorted, 0.99) / 1e3, bytesSent,
                bytesReceived, parts, percentile(over, 0.50) / 1e3, percentile(over, 0.99) / 1e3);
    }

    /** What the links and the membership count, for {@link #toProto}. */
    public record Tier(long reconnects, long drains, int members, long membershipChanges) {}

    /** Cumulative counters for the node's load report, with the links' and the membership's from {@code tier}. */
    public synchronized FfnExchangeStats toProto(Tier tier) {
        FfnExchangeStats.Builder b = FfnExchangeStats.newBuilder()
                .setExchanges(count)
                .setLatencySecondsSum(sumNanos / 1e9)
                .setTimeouts(timeouts)
                .setReconnects(tier.reconnects())
                .setFailovers(failovers)
                .setDrains(tier.drains())
                .setMembers(tier.members())
                .setMembershipChanges(tier.membershipChanges())
                .setBytesSent(bytesSent)
                .setBytesReceived(bytesReceived);
        for (int i = 0; i < BOUNDS.length; i++) {
            b.addLatencyBucketBounds(BOUNDS[i]).addLatencyBucketCounts(bucketCounts[i]);
        }
        for (long t : tokensPerExpert) {
            b.addTokensPerExpert(t);
        }
        holderUnits.forEach((node, units) -> b.putRoutedUnitsPerNode(node, units));
        return b.build();
    }

    /** Starts over; for benchmarks that measure one configuration at a time, never on a serving node. */
    public synchronized void reset() {
        count = 0;
        parts = 0;
        sumNanos = 0;
        bytesSent = 0;
        bytesReceived = 0;
        timeouts = 0;
        failovers = 0;
        holderUnits.clear();
        Arrays.fill(bucketCounts, 0);
        Arrays.fill(tokensPerExpert, 0);
    }

    private static double percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    }
}
