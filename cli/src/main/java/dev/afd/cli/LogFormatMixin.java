package dev.afd.cli;

import dev.afd.telemetry.LogFormat;
import picocli.CommandLine.Option;

/** {@code --log-format}: how a long-running role writes its log to stderr. */
final class LogFormatMixin {
    @Option(names = "--log-format", defaultValue = "text", paramLabel = "text|json",
            description = "Log lines on stderr: text, or json for log collectors (one object per line: time, level,"
                    + " logger, message, request_id within a request, thrown). Default: ${DEFAULT-VALUE}.")
    String format;

    /** Checks the format and makes it the process's log format: first thing a role does, before it logs. */
    void install() {
        LogFormat.parse(format).install();
    }
}
