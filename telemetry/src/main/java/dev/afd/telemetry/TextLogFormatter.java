package dev.afd.telemetry;

import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * {@code --log-format text}: one line per record, {@code TIME LEVEL [REQUEST-ID] LOGGER: MESSAGE} (the request id
 * only within a request), then the stack trace of a thrown exception.
 */
final class TextLogFormatter extends Formatter {
    @Override
    public String format(LogRecord record) {
        LogLine line = LogLine.of(record, this);
        StringBuilder out = new StringBuilder(128).append(line.time()).append(' ').append(line.level()).append(' ');
        if (line.requestId() != null) {
            out.append('[').append(line.requestId()).append("] ");
        }
        out.append(line.logger()).append(": ").append(line.message()).append(System.lineSeparator());
        if (line.thrown() != null) {
            out.append(line.thrown()).append(System.lineSeparator());
        }
        return out.toString();
    }
}
