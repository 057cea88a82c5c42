package dev.afd.telemetry;

import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * How a process writes its log ({@code --log-format}): {@code text} for people, {@code json} for log collectors.
 * The project logs through {@link System.Logger}, whose backend is java.util.logging; {@link #install} puts one
 * stderr handler with this format on the root logger.
 */
public enum LogFormat {
    TEXT, JSON;

    /** {@code text} or {@code json}, any case. */
    public static LogFormat parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--log-format must be text or json, got '" + name + "'");
        }
    }

    /** A formatter writing this format. */
    public Formatter formatter() {
        return this == JSON ? new JsonLogFormatter() : new TextLogFormatter();
    }

    /**
     * Replaces the root logger's handlers with one that writes this format to stderr. The handler passes every level
     * its loggers let through (their levels still come from the logging configuration) and formats on the logging
     * thread, so each line gets the request context bound there.
     */
    public void install() {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler stderr = new ConsoleHandler();
        stderr.setLevel(Level.ALL);
        stderr.setFormatter(formatter());
        try {
            stderr.setEncoding("UTF-8");
        } catch (java.io.UnsupportedEncodingException e) {
            throw new IllegalStateException("UTF-8 is always supported", e);
        }
        root.addHandler(stderr);
    }
}
