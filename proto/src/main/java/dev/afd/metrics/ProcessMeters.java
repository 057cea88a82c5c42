package dev.afd.metrics;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * A process's Prometheus registry with Micrometer's JVM and process meters bound: heap and off-heap memory
 * ({@code jvm_memory_*}, {@code jvm_buffer_*}), GC pauses ({@code jvm_gc_*}), threads, classes, CPU
 * ({@code process_cpu_usage}, {@code system_cpu_usage}) and uptime. Every process (gateway, attention node, ffn-node)
 * starts its registry here, so they all report the same JVM series.
 *
 * <p>Ownership: the GC meters listen to the JVM's GC notifications until {@link #close()}; the registry itself
 * needs no closing.
 */
public final class ProcessMeters implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();

    public ProcessMeters() {
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    /** The registry the process registers its own meters in. */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Stops listening to GC notifications. */
    @Override
    public void close() {
        gc.close();
    }
}
