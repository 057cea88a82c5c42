package dev.afd.cli;

import picocli.CommandLine.Option;

/**
 * {@code --metrics-port}: where an attention node or an ffn-node answers {@code GET /metrics} (Prometheus text),
 * plain HTTP on {@code --host}, apart from its gRPC port (which may require mutual TLS). The gateway needs none: its
 * metrics are on its API port.
 */
final class MetricsPortMixin {
    /** 9464 is the port Prometheus exporters of the OpenTelemetry SDK use; one pod runs one node. */
    static final String DEFAULT = "9464";

    @Option(names = "--metrics-port", defaultValue = DEFAULT,
            description = "Port of the HTTP /metrics endpoint (Prometheus text format) on --host; 0 picks a free one,"
                    + " named in the log. Default: ${DEFAULT-VALUE}.")
    int port;
}
