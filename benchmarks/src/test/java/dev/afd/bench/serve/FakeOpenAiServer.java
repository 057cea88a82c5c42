package dev.afd.bench.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * A real HTTP server on 127.0.0.1 that answers {@code /v1/completions} and {@code /v1/chat/completions} (also under
 * {@code /proxy}) with scripted
 * SSE streams: chunk count and delays, an HTTP error, an in-stream error chunk, or a stream that never ends. Each
 * request is handled on its own virtual thread, so delays of many requests overlap.
 */
final class FakeOpenAiServer implements AutoCloseable {
    /** What the server does with the {@code n}-th request (counted from 0 in arrival order). */
    enum Mode { STREAM, HTTP_500, STREAM_ERROR, HANG }

    /**
     * @param chunks output chunks, one token each
     * @param firstDelayMs before the first chunk
     * @param gapMs between chunks
     * @param usage whether a final usage chunk reports {@code chunks} completion tokens
     */
    record Reply(Mode mode, int chunks, long firstDelayMs, long gapMs, boolean usage) {
        static Reply stream(int chunks, long firstDelayMs, long gapMs) {
            return new Reply(Mode.STREAM, chunks, firstDelayMs, gapMs, true);
        }

        static Reply of(Mode mode) {
            return new Reply(mode, 2, 0, 0, true);
        }
    }

    private final HttpServer server;
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    private final IntFunction<Reply> script;
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();
    private final List<Long> arrivals = new CopyOnWriteArrayList<>();
    private final List<String> authorizations = new CopyOnWriteArrayList<>();
    private final CountDownLatch closed = new CountDownLatch(1);

    FakeOpenAiServer(IntFunction<Reply> script) throws IOException {
        this(script, 0);
    }

    FakeOpenAiServer(IntFunction<Reply> script, int port) throws IOException {
        this.script = script;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 1024);
        server.setExecutor(handlers);
        // The same routes at the root and under /proxy, as a server behind a path-prefixing proxy has them.
        for (String prefix : new String[] {"", "/proxy"}) {
            server.createContext(prefix + "/v1/completions", this::complete);
            server.createContext(prefix + "/v1/chat/completions", this::complete);
            // One token per word, a stand-in tokenizer that tests can count by eye.
            server.createContext(prefix + "/tokenize", ex -> answer(ex, 200, "{\"count\":"
                    + words(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)) + "}"));
            server.createContext(prefix + "/v1/models",
                    ex -> answer(ex, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\"}]}"));
        }
        server.start();
    }

    URI baseUrl() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Requests received so far. */
    int requests() {
        return requests.get();
    }

    /** The most requests that were being answered at once. */
    int maxInFlight() {
        return maxInFlight.get();
    }

    /** {@link System#nanoTime()} at each request's arrival. */
    List<Long> arrivals() {
        return List.copyOf(arrivals);
    }

    /** The Authorization header of each request that had one. */
    List<String> authorizations() {
        return List.copyOf(authorizations);
    }

    private void complete(HttpExchange ex) throws IOException {
        arrivals.add(System.nanoTime());
        String authorization = ex.getRequestHeaders().getFirst("Authorization");
        if (authorization != null) {
            authorizations.add(authorization);
        }
        int n = requests.getAndIncrement();
        ex.getRequestBody().readAllBytes();
        boolean chat = ex.getRequestURI().getPath().contains("chat");
        Reply reply = script.apply(n);
        if (reply.mode() == Mode.HTTP_500) {
            answer(ex, 500, "{\"error\":{\"message\":\"scripted failure\",\"type\":\"InternalServerError\",\"code\":500}}");
            return;
        }
        maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        boolean counted = true;
        try {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            sleep(reply.firstDelayMs());
            for (int i = 0; i < reply.chunks(); i++) {
                if (i > 0) {
                    sleep(reply.gapMs());
                }
                if (reply.mode() == Mode.STREAM_ERROR && i == 1) {
                    send(out, "{\"error\":{\"message\":\"scripted stream failure\",\"type\":\"InternalServerError\"}}");
                    break;
                }
                send(out, chat
                        ? "{\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t" + i + "\"}}]}"
                        : "{\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"t" + i + "\"}]}");
            }
            if (reply.mode() == Mode.HANG) {
                closed.await();
                return;
            }
            if (reply.usage()) {
                send(out, "{\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":" + reply.chunks()
                        + ",\"total_tokens\":" + (7 + reply.chunks()) + "}}");
            }
            // Leave the in-flight count before the client can see [DONE], so a closed-loop client that sends its
            // next request on [DONE] is never counted twice.
            inFlight.decrementAndGet();
            counted = false;
            send(out, "[DONE]");
            out.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (counted) {
                inFlight.decrementAndGet();
            }
            ex.close();
        }
    }

    /** The words of the {@code prompt} of a {@code /tokenize} body. */
    private static int words(String body) throws IOException {
        String prompt = new ObjectMapper().readTree(body).path("prompt").asText();
        return prompt.isBlank() ? 0 : prompt.strip().split("\\s+").length;
    }

    private static void send(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void answer(HttpExchange ex, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    private static void sleep(long ms) throws InterruptedException {
        if (ms > 0) {
            Thread.sleep(ms);
        }
    }

    @Override
    public void close() throws InterruptedException {
        closed.countDown();
        server.stop(0);
        handlers.shutdownNow();
        handlers.awaitTermination(5, TimeUnit.SECONDS);
    }
}
