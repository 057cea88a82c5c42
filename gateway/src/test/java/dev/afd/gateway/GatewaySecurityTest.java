package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.gateway.http.HttpLimits;
import dev.afd.gateway.routing.Resolver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway against clients that attack it: no key, slow or partial requests, huge bodies and prompts, pipelining
 * behind a slow request, streams nobody reads, malformed HTTP. Each test reproduces an attack over a real socket and
 * asserts the safe answer.
 */
class GatewaySecurityTest {
    private static final String KEY = "s3cret";
    private static final String AUTH = "Authorization: Bearer " + KEY + "\r\n";

    @TempDir
    static Path dir;

    static Path model;
    static FakeNode node;

    @BeforeAll
    static void start() throws Exception {
        TestNatives.use();
        model = GatewayStack.tinyModel(dir);
        node = FakeNode.start(ModelInfo.read(model, null).fingerprint());
    }

    @BeforeEach
    void defaultScript() {
        node.script = FakeNode.tokens(65, 66, 67);
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    /** A gateway with an API key and one-second read deadlines, in front of the scripted node. */
    static Gateway gateway(UnaryOperator<GatewayOptions.Builder> options) throws Exception {
        HttpLimits limits = new HttpLimits(1 << 20, 2 << 20, Duration.ofSeconds(1), Duration.ofSeconds(1),
                Duration.ofSeconds(1));
        Gateway g = Gateway.start(options.apply(GatewayOptions.builder().address("127.0.0.1", 0).apiKey(KEY)
                        .http(limits).intervals(Duration.ofMillis(50), Duration.ofSeconds(5))
                        .drainTimeout(Duration.ofSeconds(1))).build(), model, null,
                Resolver.fixed(List.of(node.target())));
        GatewayErrorsTest.awaitHealth(g, 200);
        return g;
    }

    static String post(String path, String headers, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers
                + "Content-Length: " + body.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + "\r\n\r\n"
                + body;
    }

    /** An error body says what went wrong in words, never with the server's class names. */
    static void assertPlainError(RawSocket.Reply r, int status) throws Exception {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        JsonNode e = Http.JSON.readTree(r.body()).path("error");
        assertThat(e.path("message").asText()).isNotBlank()
                .doesNotContain("Exception", "java.", "io.netty", "com.fasterxml", "dev.afd");
    }

    @Test
    void aRequestWithoutTheKeyIsRefusedFromItsHeadersAloneAndItsBodyIsNeverRead() throws Exception {
        try (Gateway g = gateway(o -> o); RawSocket s = new RawSocket(g.port())) {
            long start = System.nanoTime();
            s.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\n{\"prompt\": \"");
            assertPlainError(s.read(), 401);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(900));
            assertThat(s.closedWithin(Duration.ofSeconds(2))).isTrue();
            assertThat(g.metrics().scrape()).contains("afd_gateway_http_body_bytes 0.0");
        }
    }

    @Test
    void unknownApiPathsNeedTheKeyBeforeTheyAre404() throws Exception {
        try (Gateway g = gateway(o -> o)) {
            Http h = new Http(g.port());
            Http.error(h.get("/v1/nothing"), 401);
            Http.error(h.post("/v1/nothing", "{}"), 401);
            Http.error(h.get("/v1/nothing", "Authorization", "Bearer " + KEY), 404);
            Http.error(h.get("/v1/completions", "Authorization", "Bearer " + KEY), 405);
            Http.error(h.get("/v1/completions"), 401);
            Http.error(h.get("/elsewhere"), 404);
            assertThat(h.get("/health").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void pipelinedRequestsBehindASlowOneAreScreenedWithoutHoldingTheirBodies() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        node.script = (r, out) -> {
            release.await(20, TimeUnit.SECONDS);
            FakeNode.tokens(65, 66).run(r, out);
        };
        try (Gateway g = gateway(o -> o); RawSocket s = new RawSocket(g.port())) {
            s.send(post("/v1/completions", AUTH, "{\"prompt\": \"hi\", \"max_tokens\": 2}"));
            // Behind it: a keyless request announcing a large body, and a good part of that body.
            s.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n");
            s.send(new byte[600_000]);
            Thread.sleep(300);
            assertThat(heldBodyBytes(g)).isZero();
            release.countDown();
            assertThat(s.read().status()).isEqualTo(200);
            assertPlainError(s.read(), 401);
            assertThat(s.closedWithin(Duration.ofSeconds(2))).isTrue();
        }
    }

    @Test
    void slowHeadersSlowBodiesAndIdleConnectionsAreCutOff() throws Exception {
        try (Gateway g = gateway(o -> o)) {
            try (RawSocket s = new RawSocket(g.port())) {
                s.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\n");
                RawSocket.Reply r = s.read();
                assertPlainError(r, 408);
                assertThat(r.body()).contains("headers", "1 s");
                assertThat(s.closedWithin(Duration.ofSeconds(2))).isTrue();
            }
            try (RawSocket s = new RawSocket(g.port())) {
                s.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + AUTH + "Content-Length: 100\r\n\r\n{\"pr");
                RawSocket.Reply r = s.read();
                assertPlainError(r, 408);
                assertThat(r.body()).contains("body");
                assertThat(s.closedWithin(Duration.ofSeconds(2))).isTrue();
            }
            try (RawSocket s = new RawSocket(g.port())) {
                assertThat(s.closedWithin(Duration.ofSeconds(3))).as("a connection that never sends").isTrue();
            }
            try (RawSocket s = new RawSocket(g.port())) {
                s.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
                assertThat(s.read().status()).isEqualTo(200);
                assertThat(s.closedWithin(Duration.ofSeconds(3))).as("an idle keep-alive connection").isTrue();
            }
        }
    }

    @Test
    void aLongAnswerIsNotCutOffByTheIdleTimeout() throws Exception {
        node.script = (r, out) -> {
            Thread.sleep(2500);
            FakeNode.tokens(65).run(r, out);
        };
        try (Gateway g = gateway(o -> o); RawSocket s = new RawSocket(g.port())) {
            s.send(post("/v1/completions", AUTH, "{\"prompt\": \"hi\", \"max_tokens\": 1}"));
            assertThat(s.read().status()).isEqualTo(200);
        }
    }

    @Test
    void bodiesInFlightAreBoundedAcrossConnections() throws Exception {
        try (Gateway g = gateway(o -> o); RawSocket a = new RawSocket(g.port()); RawSocket b = new RawSocket(g.port());
                RawSocket c = new RawSocket(g.port())) {
            String head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + AUTH + "Content-Length: 1000000\r\n\r\n";
            a.send(head).send(new byte[1000]);
            b.send(head).send(new byte[1000]);
            Thread.sleep(200);
            assertThat(heldBodyBytes(g)).isEqualTo(2_000_000);
            c.send(head);
            RawSocket.Reply r = c.read();
            assertPlainError(r, 503);
            assertThat(r.headers()).containsKey("retry-after");
            a.close();
            b.close();
            long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (heldBodyBytes(g) != 0 && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertThat(heldBodyBytes(g)).as("budget returned when clients leave").isZero();
        }
    }

    @Test
    void aTextPromptThatCannotFitTheContextIsRefusedBeforeItIsTokenized() throws Exception {
        try (Gateway g = gateway(o -> o.http(HttpLimits.defaults()))) {
            Http h = new Http(g.port());
            String huge = "Hello world. ".repeat(500_000); // 6.5 MB: millions of tokens if it were tokenized
            for (String path : List.of("/v1/completions", "/tokenize")) {
                long start = System.nanoTime();
                JsonNode e = Http.error(h.post(path, "{\"prompt\": \"" + huge + "\"}", "Authorization",
                        "Bearer " + KEY), 400);
                assertThat(e.path("message").asText()).contains("maximum context length", "bytes");
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as(path).isLessThan(Duration.ofSeconds(2));
            }
        }
    }

    @Test
    void aStreamNobodyReadsPausesItsNodeAndIsAbortedAfterTheStallTimeout() throws Exception {
        node.script = (r, out) -> Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 3_000_000 && !out.isCancelled(); i++) {
                out.onNext(FakeNode.token(65 + i % 20));
                if (i % 500 == 0) {
                    sleep(1);
                }
            }
        });
        try (Gateway g = gateway(o -> o.streamStallTimeout(Duration.ofSeconds(1)))) {
            int cancelledBefore = node.cancelled.size();
            try (RawSocket s = new RawSocket(g.port(), 4096)) {
                s.send(post("/v1/completions", AUTH, "{\"prompt\": \"hi\", \"max_tokens\": 4000, \"stream\":"
                        + " true}"));
                // Read nothing (the scripted node streams past max_tokens, ignoring flow control, until cancelled):
                // the gateway must stop taking tokens, then give the client up.
                long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                while (node.cancelled.size() == cancelledBefore && System.nanoTime() < end) {
                    Thread.sleep(50);
                }
                assertThat(node.cancelled.size()).as("the node's call is cancelled").isGreaterThan(cancelledBefore);
                assertThat(g.inflight()).isZero();
                assertThat(g.metrics().scrape()).contains("afd_gateway_stalled_streams_total 1.0");
                assertThat(s.closedWithin(Duration.ofSeconds(5))).isTrue();
            }
        }
    }

    @Test
    void malformedRequestsAreAnsweredInWords() throws Exception {
        try (Gateway g = gateway(o -> o)) {
            try (RawSocket s = new RawSocket(g.port())) {
                RawSocket.Reply r = s.send("GET /health%zz HTTP/1.1\r\nHost: x\r\n\r\n").read();
                assertPlainError(r, 400);
                assertThat(r.body()).contains("percent");
            }
            try (RawSocket s = new RawSocket(g.port())) {
                assertPlainError(s.send("GET /" + "a".repeat(HttpLimits.MAX_REQUEST_LINE) + " HTTP/1.1\r\nHost: x"
                        + "\r\n\r\n").read(), 414);
            }
            try (RawSocket s = new RawSocket(g.port())) {
                assertPlainError(s.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "
                        + "b".repeat(HttpLimits.MAX_HEADER_BYTES) + "\r\n\r\n").read(), 431);
            }
            try (RawSocket s = new RawSocket(g.port())) {
                assertPlainError(s.send("GARBAGE\r\n\r\n").read(), 400);
            }
            try (RawSocket s = new RawSocket(g.port())) {
                RawSocket.Reply r = s.send(post("/v1/completions", AUTH, "{\"prompt\": \"hi\"} {\"x\": 1}")).read();
                assertPlainError(r, 400);
                assertThat(r.body()).contains("after its JSON value");
                assertPlainError(s.send(post("/v1/completions", AUTH, "{\"prompt\": \"hi\"} xyz")).read(), 400);
                r = s.send(post("/v1/completions", AUTH, "{\"prompt\": [\"hi\"")).read();
                assertPlainError(r, 400);
            }
        }
    }

    @Test
    void anHttp10StreamIsSentWithoutChunksAndEndsWithTheConnection() throws Exception {
        try (Gateway g = gateway(o -> o); RawSocket s = new RawSocket(g.port())) {
            String body = "{\"prompt\": \"hi\", \"max_tokens\": 3, \"stream\": true}";
            s.send("POST /v1/completions HTTP/1.0\r\nHost: x\r\n" + AUTH + "Content-Length: " + body.length()
                    + "\r\n\r\n" + body);
            RawSocket.Reply r = s.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers()).doesNotContainKey("transfer-encoding");
            assertThat(r.body()).startsWith("data: ").endsWith("data: [DONE]\n\n");
            assertThat(s.closedWithin(Duration.ofSeconds(2))).isTrue();
        }
    }

    private static long heldBodyBytes(Gateway g) {
        Matcher m = Pattern.compile("(?m)^afd_gateway_http_body_bytes ([0-9.E]+)$").matcher(g.metrics().scrape());
        assertThat(m.find()).isTrue();
        return (long) Double.parseDouble(m.group(1));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
