package dev.afd.attention.metrics;

import dev.afd.proto.FfnExchangeStats;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The AFD exchange between this attention node and its ffn-nodes, as Prometheus series: the per-layer exchange
 * latency as a real histogram ({@code afd_ffn_exchange_latency_seconds_bucket}), failure and membership counters,
 * wire bytes, and the work routed to each expert and each ffn-node. Built from one snapshot of the node's
 * cumulative {@link FfnExchangeStats} per scrape (the same the node's {@code Load} answer carries), so the series of
 * one scrape agree with each other and nothing is counted twice.
 *
 * <p>Threading: {@link #collect} runs on the scraping thread; {@code stats} must be safe to call from it.
 */
final class ExchangeCollector implements MultiCollector {
    private final Supplier<FfnExchangeStats> stats;

    ExchangeCollector(Supplier<FfnExchangeStats> stats) {
        this.stats = stats;
    }

    @Override
    public MetricSnapshots collect() {
        FfnExchangeStats s = stats.get();
        List<MetricSnapshot> out = new ArrayList<>();
        out.add(latency(s));
        out.add(counter("afd_ffn_timeouts", "ffn-node answers that missed the exchange deadline", s.getTimeouts()));
        out.add(counter("afd_ffn_reconnects", "Streams to ffn-nodes re-established after a failure",
                s.getReconnects()));
        out.add(counter("afd_ffn_failovers",
                "Parts of layer exchanges re-sent to another holder after an ffn-node failed them", s.getFailovers()));
        out.add(counter("afd_ffn_drains", "Drain notices from ffn-nodes shutting down", s.getDrains()));
        out.add(GaugeSnapshot.builder().name("afd_ffn_members").help("ffn-nodes this attention node knows")
                .dataPoint(GaugeDataPointSnapshot.builder().value(s.getMembers()).build()).build());
        out.add(counter("afd_ffn_membership_changes", "ffn-nodes that joined or left through DNS",
                s.getMembershipChanges()));
        out.add(CounterSnapshot.builder().name("afd_ffn_wire_bytes")
                .help("Bytes of activations and results on the attention-ffn wire")
                .dataPoint(point(Labels.of("direction", "to_ffn"), s.getBytesSent()))
                .dataPoint(point(Labels.of("direction", "from_ffn"), s.getBytesReceived())).build());
        CounterSnapshot.Builder experts = CounterSnapshot.builder().name("afd_expert_routed_tokens")
                .help("Token slots routed to each expert over all MoE layers");
        for (int e = 0; e < s.getTokensPerExpertCount(); e++) {
            experts.dataPoint(point(Labels.of("expert", Integer.toString(e)), s.getTokensPerExpert(e)));
        }
        out.add(experts.build());
        CounterSnapshot.Builder nodes = CounterSnapshot.builder().name("afd_ffn_routed_units")
                .help("Token slots computed by each ffn-node: how evenly replicas share the work");
        for (Map.Entry<String, Long> n : s.getRoutedUnitsPerNodeMap().entrySet()) {
            nodes.dataPoint(point(Labels.of("node", n.getKey()), n.getValue()));
        }
        out.add(nodes.build());
        return new MetricSnapshots(out);
    }

    /**
     * The latency histogram: the snapshot's buckets are cumulative ({@code <= bound}), Prometheus's model takes each
     * bucket's own count, with everything above the last bound in {@code +Inf}.
     */
    private static HistogramSnapshot latency(FfnExchangeStats s) {
        int n = s.getLatencyBucketBoundsCount();
        double[] bounds = new double[n + 1];
        long[] counts = new long[n + 1];
        long below = 0;
        for (int b = 0; b < n; b++) {
            bounds[b] = s.getLatencyBucketBounds(b);
            counts[b] = s.getLatencyBucketCounts(b) - below;
            below = s.getLatencyBucketCounts(b);
        }
        bounds[n] = Double.POSITIVE_INFINITY;
        counts[n] = s.getExchanges() - below;
        return HistogramSnapshot.builder().name("afd_ffn_exchange_latency_seconds")
                .help("Per-layer exchange latency (one per layer and micro-batch), send to last answer")
                .dataPoint(HistogramDataPointSnapshot.builder()
                        .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, counts))
                        .sum(s.getLatencySecondsSum()).build())
                .build();
    }

    private static CounterSnapshot counter(String name, String help, long value) {
        return CounterSnapshot.builder().name(name).help(help).dataPoint(point(Labels.EMPTY, value)).build();
    }

    private static CounterDataPointSnapshot point(Labels labels, long value) {
        return CounterDataPointSnapshot.builder().labels(labels).value(value).build();
    }
}
