package dev.afd.cli;

import dev.afd.telemetry.Tracing;
import picocli.CommandLine.Option;

/** {@code --otlp-traces-endpoint}: where the gateway and the attention nodes send one span per request. */
final class TracesMixin {
    @Option(names = "--otlp-traces-endpoint", paramLabel = "URL",
            description = "Export one span per request (queue, prefill and decode times, token counts) over OTLP/HTTP"
                    + " to this traces URL, e.g. http://otel-collector:4318/v1/traces. Default: off.")
    String endpoint;

    /** The endpoint, checked, or null when tracing is off. */
    String checkedEndpoint() {
        if (endpoint == null || endpoint.isBlank()) {
            return null;
        }
        Tracing.checkEndpoint(endpoint.trim());
        return endpoint.trim();
    }

    /** The process's tracing, named {@code serviceName}; its owner closes it last, so spans in flight are sent. */
    Tracing tracing(String serviceName) {
        return Tracing.of(endpoint, serviceName);
    }
}
