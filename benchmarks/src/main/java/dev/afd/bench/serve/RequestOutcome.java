package dev.afd.bench.serve;

import java.util.Locale;

/**
 * What happened to one request, with client-side timestamps ({@link System#nanoTime()}).
 *
 * @param sentNanos when the request was handed to the HTTP client
 * @param endNanos when {@code data: [DONE]} arrived, or when the request failed
 * @param failure why it failed; null when it succeeded
 * @param ttftNanos send to first output text (meaningful on success only)
 * @param itlNanos gaps between successive output chunks after the first
 * @param outputTokens from the usage chunk when the server sent one, else the number of output chunks
 * @param inputTokens from the usage chunk when the server sent one, else the client's count (-1 when unknown)
 */
public record RequestOutcome(long sentNanos, long endNanos, Failure failure, long ttftNanos, long[] itlNanos,
        int outputTokens, int inputTokens) {

    /**
     * Why a request failed.
     *
     * @param status the HTTP status for {@link Kind#HTTP}, else 0
     */
    public record Failure(Kind kind, int status, String message) {
        /** The key errors are counted under: {@code http_500}, {@code stream_error}, {@code timeout}, {@code connection}. */
        public String key() {
            return kind == Kind.HTTP ? "http_" + status : kind.name().toLowerCase(Locale.ROOT);
        }

        @Override
        public String toString() {
            return key() + ": " + message;
        }
    }

    /** The kinds of failure counted apart. */
    public enum Kind {
        /** The server answered with a status other than 200. */
        HTTP,
        /** The stream started (200) and then carried an error chunk, or ended early or malformed. */
        STREAM_ERROR,
        /** No {@code [DONE]} within the request timeout. */
        TIMEOUT,
        /** No connection, or it broke. */
        CONNECTION
    }

    public static RequestOutcome failed(long sentNanos, long endNanos, Failure failure) {
        return new RequestOutcome(sentNanos, endNanos, failure, -1, new long[0], 0, -1);
    }

    public boolean ok() {
        return failure == null;
    }

    public double e2elMs() {
        return (endNanos - sentNanos) / 1e6;
    }

    public double ttftMs() {
        return ttftNanos / 1e6;
    }

    /** Mean time per output token after the first; NaN for a single-token output (as vLLM leaves it out). */
    public double tpotMs() {
        return outputTokens > 1 ? (e2elMs() - ttftMs()) / (outputTokens - 1) : Double.NaN;
    }
}
