package dev.afd.bench.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Follows one streamed response: splits the bytes into SSE lines, reads each {@code data:} chunk and stamps the
 * output chunks, then completes {@link #outcome()} once: at {@code data: [DONE]}, at an error chunk, or when
 * {@link #fail} is called (timeout, broken connection).
 *
 * <p>Threading: {@link #onBytes} and {@link #onEnd} are called by one thread at a time (the HTTP client's
 * subscriber rules); {@link #fail} may come from any thread. The first completion wins; later events are ignored.
 *
 * <p>What counts as an output chunk: a chunk whose first choice carries non-empty text ({@code text} on
 * completions, {@code delta.content} or {@code delta.reasoning_content} on chat). Role-only and finish-only chunks
 * do not; if a stream carries choices but never any text (tokens that decode to nothing), its first such chunk
 * stands for the first token.
 */
final class StreamRecorder {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The most bytes of a non-200 body kept for its error message. */
    static final int MAX_ERROR_BODY = 4096;

    private final long sentNanos;
    private final int clientInputTokens;
    private final CompletableFuture<RequestOutcome> outcome = new CompletableFuture<>();
    private final AtomicBoolean finished = new AtomicBoolean();

    // Parsing state, owned by the delivering thread.
    private byte[] line = new byte[256];
    private int lineLength;
    private long firstChunk = -1;
    private long firstChoice = -1;
    private long lastChunk;
    private long[] gaps = new long[16];
    private int gapCount;
    private int textChunks;
    private int usageOutput = -1;
    private int usageInput = -1;

    StreamRecorder(long sentNanos, int clientInputTokens) {
        this.sentNanos = sentNanos;
        this.clientInputTokens = clientInputTokens;
    }

    CompletableFuture<RequestOutcome> outcome() {
        return outcome;
    }

    boolean isDone() {
        return finished.get();
    }

    /** Bytes of a 200 response's body that arrived at {@code now}. */
    void onBytes(ByteBuffer bytes, long now) {
        if (finished.get()) {
            return; // after [DONE], an error or a timeout the rest of the body is only drained
        }
        while (bytes.hasRemaining()) {
            byte b = bytes.get();
            if (b == '\n') {
                onLine(now);
                lineLength = 0;
                if (finished.get()) {
                    return;
                }
            } else {
                if (lineLength == line.length) {
                    line = Arrays.copyOf(line, line.length * 2);
                }
                line[lineLength++] = b;
            }
        }
    }

    /** The body ended (the server closed the stream) at {@code now}. */
    void onEnd(long now) {
        fail(new RequestOutcome.Failure(RequestOutcome.Kind.STREAM_ERROR, 0,
                "the stream ended before data: [DONE]"), now);
    }

    /** Ends the request as failed, unless it already ended. */
    void fail(RequestOutcome.Failure failure, long now) {
        if (finished.compareAndSet(false, true)) {
            outcome.complete(RequestOutcome.failed(sentNanos, now, failure));
        }
    }

    /** A non-200 response's whole body (bounded) arrived; its OpenAI error message names the failure. */
    void failHttp(int status, byte[] body, long now) {
        fail(new RequestOutcome.Failure(RequestOutcome.Kind.HTTP, status, errorMessage(body)), now);
    }

    private void onLine(long now) {
        int end = lineLength;
        if (end > 0 && line[end - 1] == '\r') {
            end--;
        }
        if (end < 5 || line[0] != 'd' || line[1] != 'a' || line[2] != 't' || line[3] != 'a' || line[4] != ':') {
            return; // blank separators, comments (": ping"), event:/id: fields
        }
        int start = 5;
        if (start < end && line[start] == ' ') {
            start++;
        }
        int length = end - start;
        if (length == 6 && new String(line, start, 6, StandardCharsets.US_ASCII).equals("[DONE]")) {
            succeed(now);
            return;
        }
        JsonNode chunk;
        try {
            chunk = JSON.readTree(line, start, length);
        } catch (IOException e) {
            fail(streamError("a chunk is not JSON: " + clip(new String(line, start, length, StandardCharsets.UTF_8))),
                    now);
            return;
        }
        onChunk(chunk, now);
    }

    private void onChunk(JsonNode chunk, long now) {
        JsonNode error = chunk.get("error");
        if (error != null && !error.isNull()) {
            fail(streamError(message(error)), now);
            return;
        }
        if ("error".equals(chunk.path("object").asText())) { // older vLLM's flat error object
            fail(streamError(chunk.path("message").asText("error chunk")), now);
            return;
        }
        JsonNode choices = chunk.get("choices");
        if (choices != null && choices.isArray() && !choices.isEmpty()) {
            if (firstChoice < 0) {
                firstChoice = now;
            }
            JsonNode choice = choices.get(0);
            JsonNode delta = choice.path("delta");
            if (!choice.path("text").asText().isEmpty() || !delta.path("content").asText().isEmpty()
                    || !delta.path("reasoning_content").asText().isEmpty()) {
                onTextChunk(now);
            }
        }
        JsonNode usage = chunk.get("usage");
        if (usage != null && usage.isObject()) {
            usageOutput = usage.path("completion_tokens").asInt(usageOutput);
            usageInput = usage.path("prompt_tokens").asInt(usageInput);
        }
    }

    private void onTextChunk(long now) {
        if (firstChunk < 0) {
            firstChunk = now;
        } else {
            if (gapCount == gaps.length) {
                gaps = Arrays.copyOf(gaps, gaps.length * 2);
            }
            gaps[gapCount++] = now - lastChunk;
        }
        lastChunk = now;
        textChunks++;
    }

    private void succeed(long now) {
        long first = firstChunk >= 0 ? firstChunk : firstChoice;
        if (first < 0) {
            fail(streamError("the stream ended without any output chunk"), now);
            return;
        }
        if (finished.compareAndSet(false, true)) {
            int output = usageOutput >= 0 ? usageOutput : Math.max(1, textChunks);
            int input = usageInput >= 0 ? usageInput : clientInputTokens;
            outcome.complete(new RequestOutcome(sentNanos, now, null, first - sentNanos,
                    Arrays.copyOf(gaps, gapCount), output, input));
        }
    }

    private static RequestOutcome.Failure streamError(String message) {
        return new RequestOutcome.Failure(RequestOutcome.Kind.STREAM_ERROR, 0, message);
    }

    /** The message of an OpenAI error body ({@code {"error": {"message": ...}}}, or the flat older form), else the text. */
    static String errorMessage(byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8).strip();
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.has("error")) {
                return message(node.get("error"));
            }
            if (node != null && node.hasNonNull("message")) {
                return node.get("message").asText();
            }
        } catch (IOException notJson) {
            // fall through to the raw text: servers and proxies also answer with plain text or HTML
        }
        return text.isEmpty() ? "(empty body)" : clip(text);
    }

    private static String message(JsonNode error) {
        if (error.isTextual()) {
            return error.asText();
        }
        String message = error.path("message").asText("");
        return message.isEmpty() ? clip(error.toString()) : message;
    }

    private static String clip(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
