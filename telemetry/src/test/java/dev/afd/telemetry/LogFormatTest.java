package dev.afd.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class LogFormatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static LogRecord record(Level level, String message, Throwable thrown) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName("dev.afd.gateway.Example");
        r.setInstant(Instant.parse("2026-01-02T03:04:05.678Z"));
        r.setThrown(thrown);
        return r;
    }

    @Test
    void jsonIsOneObjectPerLineWithTheRequestIdInARequest() throws Exception {
        String line = RequestContext.of("req-7").call(() -> LogFormat.JSON.formatter()
                .format(record(Level.WARNING, "first line\nsecond \"line\"", null)));
        assertThat(line).endsWith("\n");
        assertThat(line.strip()).doesNotContain("\n");
        JsonNode n = JSON.readTree(line);
        assertThat(n.get("time").asText()).isEqualTo("2026-01-02T03:04:05.678Z");
        assertThat(n.get("level").asText()).isEqualTo("WARNING");
        assertThat(n.get("logger").asText()).isEqualTo("dev.afd.gateway.Example");
        assertThat(n.get("message").asText()).isEqualTo("first line\nsecond \"line\"");
        assertThat(n.get("request_id").asText()).isEqualTo("req-7");
        assertThat(n.has("thrown")).isFalse();
    }

    @Test
    void jsonOutsideARequestHasNoRequestIdAndCarriesTheStackTrace() throws Exception {
        JsonNode n = JSON.readTree(LogFormat.JSON.formatter()
                .format(record(Level.SEVERE, "boom", new IllegalStateException("the cause"))));
        assertThat(n.get("level").asText()).isEqualTo("ERROR");
        assertThat(n.has("request_id")).isFalse();
        assertThat(n.get("thrown").asText()).startsWith("java.lang.IllegalStateException: the cause")
                .contains("\tat dev.afd.telemetry.LogFormatTest");
    }

    @Test
    void textPutsTheRequestIdInBracketsBeforeTheLogger() {
        String inRequest = RequestContext.of("req-8").call(() -> LogFormat.TEXT.formatter()
                .format(record(Level.FINE, "hello", null)));
        assertThat(inRequest).isEqualTo("2026-01-02T03:04:05.678Z DEBUG [req-8] dev.afd.gateway.Example: hello"
                + System.lineSeparator());
        assertThat(LogFormat.TEXT.formatter().format(record(Level.INFO, "hi", null)))
                .isEqualTo("2026-01-02T03:04:05.678Z INFO dev.afd.gateway.Example: hi" + System.lineSeparator());
    }

    @Test
    void formatNamesAreCheckedWithAHelpfulMessage() {
        assertThat(LogFormat.parse("JSON")).isEqualTo(LogFormat.JSON);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LogFormat.parse("xml"))
                .hasMessageContaining("text or json");
    }
}
