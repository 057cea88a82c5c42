package dev.afd.telemetry;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * One log record as both log formats write it.
 *
 * @param level the {@link System.Logger.Level} name the code logged with (ERROR, WARNING, INFO, DEBUG, TRACE)
 * @param requestId the request the line is about, or null
 * @param thrown the exception's stack trace, or null
 */
record LogLine(Instant time, String level, String logger, String message, String requestId, String thrown) {
    /**
     * The line for {@code record}, logged on this thread: the request id is the context bound here, which holds for
     * the synchronous handlers {@link LogSetup} installs (they format on the thread that logs).
     */
    static LogLine of(LogRecord record, Formatter formatter) {
        RequestContext context = RequestContext.current();
        return new LogLine(record.getInstant(), level(record.getLevel()), record.getLoggerName(),
                formatter.formatMessage(record), context == null ? null : context.requestId(),
                record.getThrown() == null ? null : stackTrace(record.getThrown()));
    }

    /** JUL's level as the System.Logger level it came from (SEVERE is ERROR, FINE is DEBUG, ...). */
    static String level(Level level) {
        int v = level.intValue();
        if (v >= Level.SEVERE.intValue()) {
            return "ERROR";
        }
        if (v >= Level.WARNING.intValue()) {
            return "WARNING";
        }
        if (v >= Level.INFO.intValue()) {
            return "INFO";
        }
        return v >= Level.FINE.intValue() ? "DEBUG" : "TRACE";
    }

    private static String stackTrace(Throwable t) {
        StringWriter out = new StringWriter();
        t.printStackTrace(new PrintWriter(out));
        return out.toString().stripTrailing();
    }
}
