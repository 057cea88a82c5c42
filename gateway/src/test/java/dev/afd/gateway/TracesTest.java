package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.telemetry.OtlpReceiver;
import dev.afd.telemetry.OtlpReceiver.ReceivedSpan;
import dev.afd.telemetry.RequestIds;
import dev.afd.telemetry.Tracing;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One span per request per process, exported over OTLP/HTTP to an in-process receiver: the gateway's span is the
 * child of the client's traceparent, the attention node's span the child of the gateway's, with the phases' times
 * and the token counts as attributes.
 */
class TracesTest {
    private static final String CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CLIENT_SPAN = "00f067aa0ba902b7";

    @TempDir
    Path dir;

    @Test
    void theGatewayAndTheAttentionNodeEachExportTheRequestsSpanInOneTrace() throws Exception {
        JsonNode answer;
        String requestId;
        try (OtlpReceiver receiver = new OtlpReceiver()) {
            try (Tracing gatewayTracing = Tracing.otlp(receiver.endpoint(), "afd-gateway");
                    Tracing nodeTracing = Tracing.otlp(receiver.endpoint(), "afd-attention");
                    GatewayStack stack = GatewayStack.start(GatewayStack.tinyModel(dir), null,
                            GatewayOptions.builder().tracing(gatewayTracing).build(), nodeTracing)) {
                HttpResponse<String> r = stack.http.post("/v1/completions",
                        "{\"prompt\": \"Hello there\", \"max_tokens\": 4, \"ignore_eos\": true}",
                        Tracing.TRACEPARENT, "00-" + CLIENT_TRACE + "-" + CLIENT_SPAN + "-01");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                answer = Http.JSON.readTree(r.body());
                requestId = r.headers().firstValue(RequestIds.HEADER).orElseThrow();
            }
            List<ReceivedSpan> spans = receiver.await(s -> s.size() >= 2, Duration.ofSeconds(10));
            assertThat(spans).hasSize(2);
            ReceivedSpan gateway = only(spans, "afd-gateway");
            ReceivedSpan node = only(spans, "afd-attention");
            int promptTokens = answer.path("usage").path("prompt_tokens").asInt();

            assertThat(gateway.name()).isEqualTo("POST /v1/completions");
            assertThat(gateway.traceId()).isEqualTo(CLIENT_TRACE);
            assertThat(gateway.parentSpanId()).isEqualTo(CLIENT_SPAN);
            assertThat(gateway.error()).isFalse();
            assertThat(gateway.attributes())
                    .containsEntry("afd.request_id", requestId)
                    .containsEntry("gen_ai.response.id", answer.path("id").asText())
                    .containsEntry("gen_ai.usage.input_tokens", (long) promptTokens)
                    .containsEntry("gen_ai.usage.output_tokens", 4L)
                    .containsEntry("http.response.status_code", 200L)
                    .containsKeys("afd.time_to_first_token_ms", "afd.preprocess_ms");

            assertThat(node.name()).isEqualTo("AttentionService/Generate");
            assertThat(node.traceId()).isEqualTo(CLIENT_TRACE);
            assertThat(node.parentSpanId()).isEqualTo(gateway.spanId());
            assertThat(node.error()).isFalse();
            assertThat(node.attributes())
                    .containsEntry("afd.request_id", requestId)
                    .containsEntry("afd.sequence_id", answer.path("id").asText() + "-0")
                    .containsEntry("gen_ai.usage.input_tokens", (long) promptTokens)
                    .containsEntry("gen_ai.usage.output_tokens", 4L)
                    .containsEntry("afd.finish_reason", "length");
            for (String phase : List.of("afd.queue_ms", "afd.prefill_ms", "afd.decode_ms")) {
                assertThat((Double) node.attributes().get(phase)).as(phase).isNotNull().isNotNegative();
            }
        }
    }

    private static ReceivedSpan only(List<ReceivedSpan> spans, String service) {
        List<ReceivedSpan> of = spans.stream().filter(s -> s.service().equals(service)).toList();
        assertThat(of).as("spans of " + service + " in " + spans).hasSize(1);
        return of.getFirst();
    }
}
