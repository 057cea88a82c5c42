package dev.afd.telemetry;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * {@code --log-format json}: one JSON object per line, for log collectors. Fields: {@code time} (ISO-8601, UTC),
 * {@code level}, {@code logger}, {@code message}, {@code request_id} (only within a request) and {@code thrown} (the
 * stack trace, only with an exception). Line breaks inside values are escaped, so a record is always one line.
 */
final class JsonLogFormatter extends Formatter {
    private static final JsonFactory JSON = new JsonFactory();

    @Override
    public String format(LogRecord record) {
        LogLine line = LogLine.of(record, this);
        StringWriter out = new StringWriter(160);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("time", line.time().toString());
            g.writeStringField("level", line.level());
            g.writeStringField("logger", line.logger());
            g.writeStringField("message", line.message());
            if (line.requestId() != null) {
                g.writeStringField("request_id", line.requestId());
            }
            if (line.thrown() != null) {
                g.writeStringField("thrown", line.thrown());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a log record as JSON", e);
        }
        return out.append('\n').toString();
    }
}
