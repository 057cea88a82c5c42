package dev.afd.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.telemetry.OtlpReceiver.ReceivedSpan;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class TracingTest {
    @Test
    void aChildSpanInAnotherProcessJoinsItsParentsTraceThroughTheTraceparent() throws Exception {
        try (OtlpReceiver receiver = new OtlpReceiver()) {
            try (Tracing gateway = Tracing.otlp(receiver.endpoint(), "afd-gateway");
                    Tracing attention = Tracing.otlp(receiver.endpoint(), "afd-attention")) {
                RequestSpan parent = gateway.start("parent", RequestContext.of("req-1"));
                assertThat(parent.traceparent()).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
                RequestSpan child = attention.start("child", RequestContext.of("req-1")
                        .withTraceparent(parent.traceparent()));
                child.set("afd.tokens", 12).set("afd.ms", 1.5).set("afd.reason", "stop").end();
                parent.fail("it broke");
            }
            List<ReceivedSpan> spans = receiver.await(s -> s.size() == 2, Duration.ofSeconds(10));
            assertThat(spans).hasSize(2);
            ReceivedSpan parent = spans.stream().filter(s -> s.name().equals("parent")).findFirst().orElseThrow();
            ReceivedSpan child = spans.stream().filter(s -> s.name().equals("child")).findFirst().orElseThrow();
            assertThat(parent.service()).isEqualTo("afd-gateway");
            assertThat(child.service()).isEqualTo("afd-attention");
            assertThat(parent.parentSpanId()).isEmpty();
            assertThat(parent.error()).isTrue();
            assertThat(child.traceId()).isEqualTo(parent.traceId());
            assertThat(child.parentSpanId()).isEqualTo(parent.spanId());
            assertThat(child.attributes()).containsEntry("afd.request_id", "req-1").containsEntry("afd.tokens", 12L)
                    .containsEntry("afd.ms", 1.5).containsEntry("afd.reason", "stop");
            assertThat(child.error()).isFalse();
        }
    }

    @Test
    void withTracingOffACallersTraceparentIsPassedOnAndNothingIsRecorded() {
        try (Tracing off = Tracing.off()) {
            assertThat(off.start("x", RequestContext.of("r")).traceparent()).isNull();
            String caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
            assertThat(off.start("x", RequestContext.of("r").withTraceparent(caller)).traceparent()).isEqualTo(caller);
        }
    }

    @Test
    void anEndpointThatIsNotAnHttpUrlIsRefusedWithTheExpectedForm() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Tracing.of("otel:4317", "x"))
                .hasMessageContaining("http://");
        try (Tracing none = Tracing.of(" ", "x")) {
            assertThat(none.start("x", RequestContext.of("r")).traceparent()).isNull();
        }
    }
}
