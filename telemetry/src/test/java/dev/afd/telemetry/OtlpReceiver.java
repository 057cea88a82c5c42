package dev.afd.telemetry;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * An OTLP/HTTP traces receiver on an ephemeral loopback port: decodes each {@code ExportTraceServiceRequest} (binary
 * protobuf, as the exporter sends it) and keeps its spans. Close it to stop the server.
 */
public final class OtlpReceiver implements AutoCloseable {
    /**
     * A received span.
     *
     * @param service its resource's {@code service.name}
     * @param parentSpanId hex, empty for a root span
     * @param attributes string, long, double or boolean values by key
     * @param error whether its status is ERROR
     */
    public record ReceivedSpan(String service, String name, String traceId, String spanId, String parentSpanId,
            Map<String, Object> attributes, boolean error) {}

    private static final HexFormat HEX = HexFormat.of();

    private final HttpServer server;
    private final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();

    public OtlpReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/traces", exchange -> {
            try (InputStream in = exchange.getRequestBody()) {
                receive(ExportTraceServiceRequest.parseFrom(in.readAllBytes()));
            }
            byte[] ok = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
            exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(200, ok.length == 0 ? -1 : ok.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(ok);
            }
        });
        server.start();
    }

    /** The URL to give {@code --otlp-traces-endpoint}. */
    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1/traces";
    }

    public List<ReceivedSpan> spans() {
        return List.copyOf(spans);
    }

    /** The spans received once {@code done} holds for them, or what came by the deadline. */
    public List<ReceivedSpan> await(Predicate<List<ReceivedSpan>> done, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!done.test(spans()) && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        return spans();
    }

    private void receive(ExportTraceServiceRequest request) {
        for (ResourceSpans rs : request.getResourceSpansList()) {
            String service = String.valueOf(attributes(rs.getResource().getAttributesList()).get("service.name"));
            for (ScopeSpans ss : rs.getScopeSpansList()) {
                for (Span s : ss.getSpansList()) {
                    spans.add(new ReceivedSpan(service, s.getName(), HEX.formatHex(s.getTraceId().toByteArray()),
                            HEX.formatHex(s.getSpanId().toByteArray()),
                            HEX.formatHex(s.getParentSpanId().toByteArray()), attributes(s.getAttributesList()),
                            s.getStatus().getCode() == Status.StatusCode.STATUS_CODE_ERROR));
                }
            }
        }
    }

    private static Map<String, Object> attributes(List<KeyValue> list) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (KeyValue kv : list) {
            AnyValue v = kv.getValue();
            out.put(kv.getKey(), switch (v.getValueCase()) {
                case STRING_VALUE -> v.getStringValue();
                case INT_VALUE -> v.getIntValue();
                case DOUBLE_VALUE -> v.getDoubleValue();
                case BOOL_VALUE -> v.getBoolValue();
                default -> v.toString();
            });
        }
        return out;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
