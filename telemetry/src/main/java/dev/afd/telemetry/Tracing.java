package dev.afd.telemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Request traces of one process: one span per request, exported over OTLP (HTTP/protobuf) when an endpoint is
 * given ({@code --otlp-traces-endpoint}), and nothing but the propagation of a caller's trace context otherwise.
 * Spans are batched and sent from the SDK's own thread; {@link #close} sends what is left.
 *
 * <p>Thread-safe.
 */
public final class Tracing implements AutoCloseable {
    /** The W3C trace context header, in HTTP and in gRPC metadata. */
    public static final String TRACEPARENT = "traceparent";
    private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
    private static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("afd.request_id");
    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();

    private final OpenTelemetrySdk sdk;
    private final Tracer tracer;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Tracing(OpenTelemetrySdk sdk, Tracer tracer) {
        this.sdk = sdk;
        this.tracer = tracer;
    }

    /** No export: spans are not recorded, but a caller's traceparent is passed on. */
    public static Tracing off() {
        return new Tracing(null, OpenTelemetry.noop().getTracer("afd"));
    }

    /**
     * Exports to an OTLP/HTTP traces endpoint.
     *
     * @param endpoint the collector's traces URL, e.g. {@code http://otel-collector:4318/v1/traces}
     * @param serviceName the {@code service.name} of this process's spans ({@code afd-gateway}, ...)
     */
    public static Tracing otlp(String endpoint, String serviceName) {
        checkEndpoint(endpoint);
        SdkTracerProvider provider = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(SERVICE_NAME, serviceName))))
                .addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder()
                        .setEndpoint(endpoint).setTimeout(Duration.ofSeconds(10)).build())
                        .setScheduleDelay(Duration.ofMillis(500)).build())
                .build();
        OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(provider).build();
        return new Tracing(sdk, sdk.getTracer("dev.afd"));
    }

    /**
     * Checks an OTLP/HTTP traces URL.
     *
     * @throws IllegalArgumentException naming the expected form when it is not an http(s) URL
     */
    public static void checkEndpoint(String endpoint) {
        String scheme;
        try {
            scheme = URI.create(endpoint).getScheme();
        } catch (IllegalArgumentException e) {
            scheme = null;
        }
        if (!"http".equals(scheme) && !"https".equals(scheme)) {
            throw new IllegalArgumentException("--otlp-traces-endpoint must be an http:// or https:// URL (OTLP over"
                    + " HTTP, e.g. http://otel-collector:4318/v1/traces), got '" + endpoint + "'");
        }
    }

    /** {@code --otlp-traces-endpoint}: off when null or blank. */
    public static Tracing of(String endpoint, String serviceName) {
        return endpoint == null || endpoint.isBlank() ? off() : otlp(endpoint.trim(), serviceName);
    }

    /**
     * Starts the span of a request: a server span named {@code name}, the child of the context's traceparent when it
     * has one (a new trace otherwise), carrying the request id.
     */
    public RequestSpan start(String name, RequestContext context) {
        Context parent = context.traceparent() == null ? Context.root()
                : W3C.extract(Context.root(), context.traceparent(), Traceparent.GETTER);
        Span span = tracer.spanBuilder(name).setParent(parent).setSpanKind(SpanKind.SERVER)
                .setAttribute(REQUEST_ID, context.requestId()).startSpan();
        String[] header = {null};
        W3C.inject(Context.root().with(span), header, (carrier, key, value) -> {
            if (key.equals(TRACEPARENT)) {
                carrier[0] = value;
            }
        });
        return new RequestSpan(span, header[0]);
    }

    /** Sends the spans not sent yet (waiting up to 10 s) and stops exporting; later calls do nothing. */
    @Override
    public void close() {
        if (sdk != null && closed.compareAndSet(false, true)) {
            sdk.getSdkTracerProvider().shutdown().join(10, TimeUnit.SECONDS);
        }
    }

    /** Reads a lone traceparent value as the W3C propagator's carrier. */
    private enum Traceparent implements TextMapGetter<String> {
        GETTER;

        @Override
        public Iterable<String> keys(String carrier) {
            return List.of(TRACEPARENT);
        }

        @Override
        public String get(String carrier, String key) {
            return TRACEPARENT.equals(key) ? carrier : null;
        }
    }
}
