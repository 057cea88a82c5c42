package dev.afd.gateway.routing;

import dev.afd.proto.FfnExchangeStats;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The load of every ready attention node together, for metrics.
 *
 * @param readyNodes nodes the router may use
 * @param waiting requests queued on them
 * @param running requests holding KV blocks on them
 * @param kvUsage fraction of all their KV blocks in use
 * @param preemptions sequences they preempted since they started
 * @param ffn every known node's exchange statistics with its ffn-nodes (cumulative counters, for summing)
 * @param prefixCaches every known node's prefix cache by node address, from its last report
 */
public record ClusterLoad(int readyNodes, int waiting, int running, double kvUsage, long preemptions,
        List<FfnExchangeStats> ffn, Map<String, NodeLoad.PrefixCacheLoad> prefixCaches) {
    public ClusterLoad {
        ffn = List.copyOf(ffn);
        prefixCaches = Map.copyOf(prefixCaches);
    }

    public long exchanges() {
        return ffn.stream().mapToLong(FfnExchangeStats::getExchanges).sum();
    }

    public double exchangeSeconds() {
        return ffn.stream().mapToDouble(FfnExchangeStats::getLatencySecondsSum).sum();
    }

    public long timeouts() {
        return ffn.stream().mapToLong(FfnExchangeStats::getTimeouts).sum();
    }

    public long reconnects() {
        return ffn.stream().mapToLong(FfnExchangeStats::getReconnects).sum();
    }

    public long failovers() {
        return ffn.stream().mapToLong(FfnExchangeStats::getFailovers).sum();
    }

    public long drains() {
        return ffn.stream().mapToLong(FfnExchangeStats::getDrains).sum();
    }

    /** ffn-nodes known to the attention nodes, summed over them (each counts the tier it sees). */
    public int ffnMembers() {
        return ffn.stream().mapToInt(FfnExchangeStats::getMembers).sum();
    }

    public long membershipChanges() {
        return ffn.stream().mapToLong(FfnExchangeStats::getMembershipChanges).sum();
    }

    /** Routed units computed by each ffn-node, summed over the attention nodes, by node name. */
    public Map<String, Long> routedUnitsPerNode() {
        Map<String, Long> out = new TreeMap<>();
        ffn.forEach(s -> s.getRoutedUnitsPerNodeMap().forEach((node, n) -> out.merge(node, n, Long::sum)));
        return out;
    }

    public long bytesSent() {
        return ffn.stream().mapToLong(FfnExchangeStats::getBytesSent).sum();
    }

    public long bytesReceived() {
        return ffn.stream().mapToLong(FfnExchangeStats::getBytesReceived).sum();
    }

    /** Token slots routed to {@code expert} over every node. */
    public long tokensRoutedTo(int expert) {
        return ffn.stream().filter(s -> expert < s.getTokensPerExpertCount())
                .mapToLong(s -> s.getTokensPerExpert(expert)).sum();
    }

    /** Experts any node reported on. */
    public int experts() {
        return ffn.stream().mapToInt(FfnExchangeStats::getTokensPerExpertCount).max().orElse(0);
    }

    /**
     * The exchange latency at quantile {@code q} over every node, in seconds: the upper bound of the histogram bucket
     * that holds it (NaN before any exchange).
     */
    public double exchangeLatencyQuantile(double q) {
        long total = exchanges();
        if (total == 0 || ffn.isEmpty()) {
            return Double.NaN;
        }
        FfnExchangeStats first = ffn.getFirst();
        for (int b = 0; b < first.getLatencyBucketBoundsCount(); b++) {
            int bucket = b;
            long atMost = ffn.stream().filter(s -> bucket < s.getLatencyBucketCountsCount())
                    .mapToLong(s -> s.getLatencyBucketCounts(bucket)).sum();
            if (atMost >= q * total) {
                return first.getLatencyBucketBounds(b);
            }
        }
        return Double.POSITIVE_INFINITY;
    }
}
