package dev.afd.telemetry;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Records what is logged under a logger name, at every level, with the request id bound on the thread that logged
 * (as the installed formatters see it). Close it to detach.
 */
public final class LogCapture extends Handler implements AutoCloseable {
    /** A captured record; {@code requestId} is null outside of a request. */
    public record Line(String logger, String level, String message, String requestId) {}

    private static final SimpleFormatter MESSAGES = new SimpleFormatter();

    private final List<Line> lines = new CopyOnWriteArrayList<>();
    /** Held so the logger, and the level set on it, outlive the capture (the log manager keeps loggers weakly). */
    private final Logger logger;
    private final Level previous;

    private LogCapture(Logger logger) {
        this.logger = logger;
        this.previous = logger.getLevel();
        setLevel(Level.ALL);
        logger.setLevel(Level.ALL);
        logger.addHandler(this);
    }

    /** Captures {@code loggerName} and the loggers under it, e.g. {@code dev.afd}. */
    public static LogCapture of(String loggerName) {
        return new LogCapture(Logger.getLogger(loggerName));
    }

    public List<Line> lines() {
        return List.copyOf(lines);
    }

    @Override
    public void publish(LogRecord record) {
        RequestContext context = RequestContext.current();
        lines.add(new Line(record.getLoggerName(), LogLine.level(record.getLevel()), MESSAGES.formatMessage(record),
                context == null ? null : context.requestId()));
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setLevel(previous);
    }
}
