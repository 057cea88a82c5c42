package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.attention.engine.EngineLoad;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Client disconnects abort the request on the node (its KV blocks return), and shutdown drains. */
class LifecycleTest {
    private static final String LONG = "{\"prompt\": \"Tell me everything\", \"max_tokens\": 4000, \"temperature\": 0,"
            + " \"ignore_eos\": true%s}";

    @TempDir
    Path dir;

    GatewayStack stack;

    @BeforeEach
    void start() throws Exception {
        stack = GatewayStack.start(dir, GatewayOptions.builder().drainTimeout(Duration.ofSeconds(10)).build());
    }

    @AfterEach
    void stop() {
        stack.close();
    }

    @Test
    void aStreamingClientThatGoesAwayAbortsItsRequest() throws Exception {
        try (Socket s = new Socket("127.0.0.1", stack.gateway.port())) {
            send(s, LONG.formatted(", \"stream\": true"));
            String head = readUntil(s.getInputStream(), "data: ");
            assertThat(head).startsWith("HTTP/1.1 200").contains("text/event-stream");
            assertThat(nodeLoad().running()).isEqualTo(1);
        }
        awaitAbortedAndFreed();
    }

    @Test
    void aWaitingClientThatGoesAwayAbortsItsRequest() throws Exception {
        try (Socket s = new Socket("127.0.0.1", stack.gateway.port())) {
            send(s, LONG.formatted(""));
            await("the node runs the request", () -> nodeLoad().running() == 1);
        }
        awaitAbortedAndFreed();
    }

    @Test
    void drainingFailsReadinessFirstAndLetsRequestsInFlightFinish() throws Exception {
        CompletableFuture<HttpResponse<String>> inflight = stack.http.client.sendAsync(HttpRequest.newBuilder(
                        stack.http.uri("/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(
                        LONG.replace("4000", "300").formatted(", \"stream\": true, \"stream_options\": {}")))
                .build(), HttpResponse.BodyHandlers.ofString());
        await("the request is in flight", () -> stack.gateway.inflight() == 1);
        CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(
                () -> stack.gateway.drain(Duration.ofSeconds(20)));
        await("health fails", () -> status("/health") == 503);
        HttpResponse<String> refused = stack.http.post("/v1/completions", "{\"prompt\": \"hi\"}");
        assertThat(Http.error(refused, 503).path("message").asText()).contains("shutting down");
        assertThat(inflight.isDone()).as("the request in flight is still running").isFalse();
        assertThat(drained.get(30, TimeUnit.SECONDS)).isTrue();
        List<JsonNode> events = Http.events(inflight.get().body());
        assertThat(events.get(events.size() - 2).path("choices").get(0).path("finish_reason").asText())
                .isEqualTo("length");
        assertThat(events.getLast().path("usage").path("completion_tokens").asInt()).isEqualTo(300);
    }

    @Test
    void requestsOutlivingTheDrainTimeoutAreFailedAndAborted() throws Exception {
        CompletableFuture<HttpResponse<String>> inflight = stack.http.client.sendAsync(HttpRequest.newBuilder(
                        stack.http.uri("/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(
                        LONG.formatted(", \"stream\": true"))).build(), HttpResponse.BodyHandlers.ofString());
        await("the request is in flight", () -> stack.gateway.inflight() == 1 && nodeLoad().running() == 1);
        assertThat(stack.gateway.drain(Duration.ofMillis(300))).isFalse();
        List<JsonNode> events = Http.events(inflight.get(10, TimeUnit.SECONDS).body());
        assertThat(events.getLast().path("error").path("message").asText()).contains("shut down");
        await("KV blocks freed", () -> nodeLoad().running() == 0 && nodeLoad().kvBlocksUsed() == 0);
    }

    private EngineLoad nodeLoad() {
        return stack.node.engine().load();
    }

    private int status(String path) {
        try {
            return stack.http.get(path).statusCode();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void awaitAbortedAndFreed() throws Exception {
        await("the node frees the request's KV blocks", () -> {
            EngineLoad l = nodeLoad();
            return l.running() == 0 && l.waiting() == 0 && l.kvBlocksUsed() == 0;
        });
        await("the gateway forgets it", () -> stack.gateway.inflight() == 0);
        assertThat(stack.http.get("/metrics").body()).contains(
                "afd_gateway_request_success_total{finished_reason=\"abort\",model_name=\"tiny\"} 1.0");
    }

    private static void send(Socket s, String json) throws Exception {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    private static String readUntil(InputStream in, String marker) throws Exception {
        StringBuilder sb = new StringBuilder();
        while (sb.indexOf(marker) < 0) {
            int b = in.read();
            assertThat(b).as("connection open while waiting for " + marker).isNotNegative();
            sb.append((char) b);
        }
        return sb.toString();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(end);
            Thread.sleep(5);
        }
    }
}
