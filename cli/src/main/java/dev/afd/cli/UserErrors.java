package dev.afd.cli;

import dev.afd.model.config.ConfigException;
import dev.afd.model.safetensors.CheckpointException;
import dev.afd.model.tensor.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns the errors a user can act on (bad checkpoint, bad config, bad option value, I/O) into one line on stderr
 * and exit code 1; anything else is a bug and keeps its stack trace.
 */
final class UserErrors implements IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) throws Exception {
        if (e instanceof CheckpointException || e instanceof ConfigException
                || e instanceof DType.UnsupportedDTypeException || e instanceof IllegalArgumentException
                || e instanceof IOException || e instanceof UncheckedIOException) {
            cmd.getErr().println("afd " + cmd.getCommandName() + ": " + message(e));
            return 1;
        }
        throw e;
    }

    private static String message(Throwable e) {
        if (e instanceof UncheckedIOException u && u.getCause() != null) {
            e = u.getCause();
        }
        String m = e.getMessage();
        return e instanceof java.nio.file.NoSuchFileException ? "no such file: " + m : (m == null ? e.toString() : m);
    }
}
