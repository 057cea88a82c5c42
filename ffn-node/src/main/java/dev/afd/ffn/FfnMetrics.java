package dev.afd.ffn;

import dev.afd.ffn.core.FfnBackend;
import dev.afd.metrics.Buckets;
import dev.afd.metrics.ProcessMeters;
import dev.afd.proto.ActivationFrame;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.TimeUnit;

/**
 * One ffn-node's metrics, in the Prometheus text format: frames computed and their compute time, rows and frames per
 * expert (the load each expert puts on this node), frames in flight and open streams, the backend as an info gauge,
 * and the JVM's. See gateway/METRICS.md for the list.
 *
 * <p>Threading: {@link #computed} runs on whichever network thread computed the frame, concurrently; Micrometer
 * meters are thread-safe. {@link #scrape} runs on any thread.
 *
 * <p>Ownership: owns its registry and JVM meters until {@link #close()}.
 */
final class FfnMetrics implements AutoCloseable {
    /** The label value of shared-expert and dense-MLP units (expert id -1 on the wire). */
    static final String SHARED = "shared";

    private final ProcessMeters process = new ProcessMeters();
    private final PrometheusMeterRegistry registry = process.registry();
    private final Counter frames;
    private final Timer compute;
    /** Per expert id + 1 (index 0: shared and dense units); null for experts this node does not hold. */
    private final Counter[] expertRows;
    private final Counter[] expertFrames;

    /** @param numExperts the model's routed experts */
    FfnMetrics(FfnBackend backend, int numExperts) {
        Gauge.builder("afd_ffn_node_backend", () -> 1).tag("backend", backend.name())
                .tag("experts", backend.experts().toString())
                .description("This ffn-node's compute backend (cpu or cuda) and routed experts; always 1")
                .register(registry);
        frames = Counter.builder("afd_ffn_node_frames").description("Frames computed (one per layer, micro-batch"
                + " and attention node that sent work here)").register(registry);
        compute = Buckets.timer(registry, "afd_ffn_node_compute", "Compute time of one frame: decode, experts,"
                + " encode (what the attention node subtracts to get the exchange's overhead)", Tags.empty(),
                Buckets.LAYER);
        expertRows = new Counter[numExperts + 1];
        expertFrames = new Counter[numExperts + 1];
        register(0, SHARED);
        for (int e : backend.experts().ids()) {
            register(e + 1, Integer.toString(e));
        }
    }

    /** Publishes the service's open streams and the frames they have in flight, read at each scrape. */
    void watch(FfnService service) {
        Gauge.builder("afd_ffn_node_frames_in_flight", service::framesInFlight)
                .description("Frames received and not yet answered, over every stream: this node's queue")
                .register(registry);
        Gauge.builder("afd_ffn_node_streams", service::streams)
                .description("Open Exchange streams (one per attention node)").register(registry);
    }

    private void register(int index, String expert) {
        expertRows[index] = Counter.builder("afd_ffn_node_expert_rows").tag("expert", expert)
                .description("Rows computed per expert (shared: shared-expert and dense-MLP rows)").register(registry);
        expertFrames[index] = Counter.builder("afd_ffn_node_expert_frames").tag("expert", expert)
                .description("Frames that carried rows for the expert").register(registry);
    }

    /** A frame was answered without error after {@code computeNanos}. */
    void computed(ActivationFrame frame, long computeNanos) {
        frames.increment();
        compute.record(computeNanos, TimeUnit.NANOSECONDS);
        int[] rows = new int[expertRows.length];
        for (int u = 0; u < frame.getUnitExpertsCount(); u++) {
            int index = frame.getUnitExperts(u) + 1;
            if (index >= 0 && index < rows.length) {
                rows[index]++;
            }
        }
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] > 0 && expertRows[i] != null) {
                expertRows[i].increment(rows[i]);
                expertFrames[i].increment();
            }
        }
    }

    /** The Prometheus text exposition. */
    String scrape() {
        return registry.scrape();
    }

    @Override
    public void close() {
        process.close();
    }
}
