package dev.afd.bench.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Streams requests to an OpenAI-compatible server over HTTP/1.1 with the JDK's asynchronous client (a keep-alive
 * connection pool; one connection per request in flight). Each response body is read as it arrives, so chunk
 * timestamps are taken when the bytes reach the client, not when a whole line or response is assembled.
 *
 * <p>Thread-safe: {@link #send} may be called from any thread; outcomes complete on the client's threads.
 */
public final class OpenAiClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseUrl;
    private final Map<Endpoint, URI> routes = new EnumMap<>(Endpoint.class);
    private final String apiKey;
    private final Duration timeout;
    private final HttpClient http;
    private final ScheduledThreadPoolExecutor timer;

    /**
     * @param baseUrl e.g. {@code http://127.0.0.1:8000} (without {@code /v1}); a path prefix is kept, as behind a
     *     proxy at {@code http://host/llm}
     * @param apiKey sent as {@code Authorization: Bearer KEY}; null or empty for none
     * @param timeout the longest one request may take from send to {@code [DONE]}
     */
    public OpenAiClient(URI baseUrl, String apiKey, Duration timeout) {
        String url = baseUrl.toString();
        this.baseUrl = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        for (Endpoint e : Endpoint.values()) {
            routes.put(e, URI.create(this.baseUrl + e.path()));
        }
        this.apiKey = apiKey == null || apiKey.isEmpty() ? null : apiKey;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout).build();
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "bench-serve-timeouts");
            t.setDaemon(true);
            return t;
        });
        // Nearly every deadline is cancelled long before it is due; drop those at once rather than queueing them.
        timer.setRemoveOnCancelPolicy(true);
    }

    /** Sends one streamed request; the outcome never completes exceptionally (failures are outcomes). */
    public CompletableFuture<RequestOutcome> send(Endpoint endpoint, PreparedRequest request) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(routes.get(endpoint))
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(request.body()));
        if (apiKey != null) {
            builder.header("Authorization", "Bearer " + apiKey);
        }
        long sent = System.nanoTime();
        StreamRecorder recorder = new StreamRecorder(sent, request.inputTokens());
        BodyReader reader = new BodyReader(recorder);
        CompletableFuture<HttpResponse<Void>> exchange = http.sendAsync(builder.build(), info -> reader.start(info));
        exchange.whenComplete((response, error) -> {
            if (error != null) {
                recorder.fail(connectionFailure(error), System.nanoTime());
            } else {
                // The body ended; if [DONE] was seen this is a no-op.
                reader.ended(System.nanoTime());
            }
        });
        var deadline = timer.schedule(() -> {
            if (!recorder.isDone()) {
                recorder.fail(new RequestOutcome.Failure(RequestOutcome.Kind.TIMEOUT, 0,
                        "no [DONE] within " + timeout.toMillis() + " ms"), System.nanoTime());
                reader.cancel();
                exchange.cancel(true);
            }
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        return recorder.outcome().whenComplete((o, e) -> deadline.cancel(false));
    }

    /** The first model {@code GET /v1/models} lists, for when no model was given. */
    public String firstModel() throws IOException, InterruptedException {
        HttpResponse<byte[]> response;
        try {
            response = call(HttpRequest.newBuilder(URI.create(baseUrl + "/v1/models")).GET());
        } catch (IOException e) {
            throw new IOException("cannot reach " + baseUrl + " to list its models (" + e + "); is the server up?"
                    + " Give --base-url, or --model to skip the lookup", e);
        }
        if (response.statusCode() != 200) {
            throw new IOException("GET " + baseUrl + "/v1/models answered " + response.statusCode() + ": "
                    + StreamRecorder.errorMessage(response.body()) + "; give --model to skip the lookup");
        }
        JsonNode models = JSON.readTree(response.body()).path("data");
        if (!models.isArray() || models.isEmpty() || !models.get(0).hasNonNull("id")) {
            throw new IOException(baseUrl + "/v1/models lists no model; give --model");
        }
        return models.get(0).get("id").asText();
    }

    /**
     * The length of {@code text} in the served model's tokens, from the server's {@code POST /tokenize} (vLLM's
     * route, which ours serves too), special tokens included as a prompt gets them.
     */
    public int tokenCount(String model, String text) throws IOException, InterruptedException {
        byte[] body = JSON.writeValueAsBytes(Map.of("model", model, "prompt", text));
        HttpResponse<byte[]> response = call(HttpRequest.newBuilder(URI.create(baseUrl + "/tokenize"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)));
        JsonNode count = response.statusCode() == 200 ? JSON.readTree(response.body()).get("count") : null;
        if (count == null || !count.canConvertToInt()) {
            throw new IOException("POST " + baseUrl + "/tokenize answered " + response.statusCode() + " without a"
                    + " token count (" + StreamRecorder.errorMessage(response.body()) + "); the sharegpt dataset"
                    + " measures lengths with the served model's tokenizer through it");
        }
        return count.asInt();
    }

    private HttpResponse<byte[]> call(HttpRequest.Builder builder) throws IOException, InterruptedException {
        builder.timeout(timeout);
        if (apiKey != null) {
            builder.header("Authorization", "Bearer " + apiKey);
        }
        return http.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Override
    public void close() {
        timer.shutdownNow();
        http.close();
    }

    private static RequestOutcome.Failure connectionFailure(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        String what = cause instanceof HttpConnectTimeoutException ? "connect timed out" : cause.toString();
        return new RequestOutcome.Failure(RequestOutcome.Kind.CONNECTION, 0, what);
    }

    /**
     * Reads one response body: a 200 body is streamed into the recorder; any other status's body is collected
     * (bounded) for its error message.
     */
    private static final class BodyReader implements HttpResponse.BodySubscriber<Void> {
        private final StreamRecorder recorder;
        private final CompletableFuture<Void> body = new CompletableFuture<>();
        private volatile Flow.Subscription subscription;
        private volatile boolean cancelled;
        private int status;
        private ByteArrayOutputStream errorBody;

        BodyReader(StreamRecorder recorder) {
            this.recorder = recorder;
        }

        HttpResponse.BodySubscriber<Void> start(HttpResponse.ResponseInfo info) {
            status = info.statusCode();
            if (status != 200) {
                errorBody = new ByteArrayOutputStream();
            }
            return this;
        }

        void ended(long now) {
            if (errorBody != null) {
                recorder.failHttp(status, errorBody.toByteArray(), now);
            } else {
                recorder.onEnd(now);
            }
        }

        void cancel() {
            cancelled = true;
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }

        @Override
        public CompletionStage<Void> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (cancelled) {
                s.cancel();
            } else {
                s.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            long now = System.nanoTime();
            for (ByteBuffer b : buffers) {
                if (errorBody == null) {
                    recorder.onBytes(b, now);
                } else {
                    int keep = Math.min(b.remaining(), StreamRecorder.MAX_ERROR_BODY - errorBody.size());
                    if (keep > 0) {
                        byte[] bytes = new byte[keep];
                        b.get(bytes);
                        errorBody.write(bytes, 0, keep);
                    }
                }
            }
        }

        @Override
        public void onError(Throwable error) {
            recorder.fail(new RequestOutcome.Failure(RequestOutcome.Kind.CONNECTION, 0,
                    "the connection broke mid-response: " + error), System.nanoTime());
            body.completeExceptionally(error);
        }

        @Override
        public void onComplete() {
            body.complete(null);
        }
    }
}
