/**
 * What every process shares for Prometheus: a registry with the JVM and process meters bound
 * ({@link dev.afd.metrics.ProcessMeters}), and the small HTTP server on which attention nodes and ffn-nodes answer
 * {@code GET /metrics} ({@link dev.afd.metrics.MetricsServer}); the gateway answers it on its API port.
 */
package dev.afd.metrics;
