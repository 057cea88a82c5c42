package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.telemetry.LogCapture;
import dev.afd.telemetry.RequestIds;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code X-Request-Id} end to end, over real HTTP and gRPC on loopback: back in every response, and on every log line
 * the gateway and the attention node write about the request.
 */
class RequestIdTest {
    private static final String UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    private static final String BODY = "{\"prompt\": \"Hello\", \"max_tokens\": 3, \"temperature\": 0}";

    @TempDir
    static Path dir;

    static GatewayStack stack;

    @BeforeAll
    static void start() throws Exception {
        stack = GatewayStack.start(dir, GatewayOptions.defaults());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    private static String requestId(HttpResponse<?> r) {
        return r.headers().firstValue(RequestIds.HEADER).orElseThrow();
    }

    @Test
    void theClientsIdComesBackAndIsOnEveryLogLineAboutTheRequestInBothProcesses() throws Exception {
        String id = "client-req-0001";
        HttpResponse<String> r;
        try (LogCapture logs = LogCapture.of("dev.afd")) {
            r = stack.http.post("/v1/completions", BODY, RequestIds.HEADER, id);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            String responseId = Http.JSON.readTree(r.body()).get("id").asText();
            List<LogCapture.Line> about = awaitLines(logs, responseId, 2);
            assertThat(about).extracting(LogCapture.Line::logger)
                    .anyMatch(l -> l.startsWith("dev.afd.gateway."))
                    .anyMatch(l -> l.startsWith("dev.afd.attention."));
            assertThat(about).allSatisfy(line -> assertThat(line.requestId()).as(line.toString()).isEqualTo(id));
        }
        assertThat(requestId(r)).isEqualTo(id);
    }

    /** The log lines naming the response id (the node's sequence ids extend it), once both processes wrote one. */
    private static List<LogCapture.Line> awaitLines(LogCapture logs, String responseId, int finishedLines)
            throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        List<LogCapture.Line> about;
        do {
            about = logs.lines().stream().filter(l -> l.message().contains(responseId)).toList();
            if (about.stream().filter(l -> l.message().contains(" finished")).count() >= finishedLines) {
                return about;
            }
            Thread.sleep(20);
        } while (System.nanoTime() < end);
        return about;
    }

    @Test
    void aStreamCarriesTheIdInItsHead() throws Exception {
        HttpResponse<String> r = stack.http.post("/v1/completions", BODY.replace("{", "{\"stream\": true, "),
                RequestIds.HEADER, "stream-42");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        assertThat(requestId(r)).isEqualTo("stream-42");
        assertThat(Http.events(r.body())).isNotEmpty();
    }

    @Test
    void withoutAnIdEachRequestGetsAFreshOne() throws Exception {
        String first = requestId(stack.http.post("/v1/completions", BODY));
        String second = requestId(stack.http.post("/v1/completions", BODY));
        assertThat(first).matches(UUID);
        assertThat(second).matches(UUID).isNotEqualTo(first);
    }

    @Test
    void anUnsafeIdIsReplaced() throws Exception {
        for (String bad : List.of("has a space", "x".repeat(RequestIds.MAX_LENGTH + 1))) {
            HttpResponse<String> r = stack.http.post("/v1/completions", BODY, RequestIds.HEADER, bad);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(requestId(r)).matches(UUID);
        }
    }

    @Test
    void errorAnswersCarryTheIdToo() throws Exception {
        HttpResponse<String> badJson = stack.http.post("/v1/completions", "{", RequestIds.HEADER, "bad-1");
        assertThat(badJson.statusCode()).isEqualTo(400);
        assertThat(requestId(badJson)).isEqualTo("bad-1");
        HttpResponse<String> noRoute = stack.http.get("/v2/nothing", RequestIds.HEADER, "bad-2");
        assertThat(noRoute.statusCode()).isEqualTo(404);
        assertThat(requestId(noRoute)).isEqualTo("bad-2");
        HttpResponse<String> tooLong = stack.http.post("/v1/completions",
                "{\"prompt\": \"Hi\", \"max_tokens\": 100000}", RequestIds.HEADER, "bad-3");
        assertThat(Http.error(tooLong, 400).toString()).contains("max_tokens");
        assertThat(requestId(tooLong)).isEqualTo("bad-3");
        // Refused from its head, its body left unread, and the connection closed.
        HttpResponse<String> refused = stack.http.post("/v2/nothing", "{}", RequestIds.HEADER, "bad-4");
        assertThat(refused.statusCode()).isEqualTo(404);
        assertThat(requestId(refused)).isEqualTo("bad-4");
    }
}
