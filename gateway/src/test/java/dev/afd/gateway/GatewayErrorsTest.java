package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.gateway.http.HttpLimits;
import dev.afd.gateway.routing.Resolver;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import io.grpc.Status;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every error the gateway answers, over real HTTP, in front of a scripted attention node. */
class GatewayErrorsTest {
    @TempDir
    static Path dir;

    static Path model;
    static FakeNode node;
    static Gateway gateway;
    static Http http;
    static int[] ab;

    @BeforeAll
    static void start() throws Exception {
        TestNatives.use();
        model = GatewayStack.tinyModel(dir);
        node = FakeNode.start(ModelInfo.read(model, null).fingerprint());
        gateway = gateway(o -> o);
        http = new Http(gateway.port());
        try (ModelTokenizer t = ModelTokenizer.open(model)) {
            ab = t.encode("ab", false);
        }
    }

    @AfterAll
    static void stop() {
        gateway.close();
        node.close();
    }

    @BeforeEach
    void reset() throws Exception {
        node.script = FakeNode.tokens(ab);
        node.load = node.load(0, true);
        awaitHealth(gateway, 200);
    }

    /** The default HTTP limits with another largest body. */
    static HttpLimits limits(int maxBodyBytes) {
        HttpLimits d = HttpLimits.defaults();
        return new HttpLimits(maxBodyBytes, d.maxBodyBytesInFlight(), d.headerTimeout(), d.bodyTimeout(),
                d.idleTimeout());
    }

    static Gateway gateway(UnaryOperator<GatewayOptions.Builder> options) throws Exception {
        Gateway g = Gateway.start(options.apply(GatewayOptions.builder().address("127.0.0.1", 0)
                        .intervals(Duration.ofMillis(50), Duration.ofSeconds(5))
                        .drainTimeout(Duration.ofSeconds(2))).build(), model, null,
                Resolver.fixed(List.of(node.target())));
        awaitHealth(g, 200);
        return g;
    }

    static void awaitHealth(Gateway g, int status) throws Exception {
        Http h = new Http(g.port());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (h.get("/health").statusCode() != status) {
            assertThat(System.nanoTime()).as("/health answers " + status).isLessThan(end);
            Thread.sleep(20);
        }
    }

    @Test
    void malformedJsonAndWrongShapesAre400() throws Exception {
        JsonNode e = Http.error(http.post("/v1/completions", "{\"prompt\": \"x\", "), 400);
        assertThat(e.path("message").asText()).contains("not valid JSON");
        assertThat(e.path("type").asText()).isEqualTo("BadRequestError");
        Http.error(http.post("/v1/completions", "[1, 2]"), 400);
        Http.error(http.post("/v1/completions", ""), 400);
        assertThat(Http.error(http.post("/v1/chat/completions", "{\"model\": \"tiny\"}"), 400).path("param")
                .asText()).isEqualTo("messages");
        assertThat(Http.error(http.post("/v1/completions", "{\"prompt\": [1, \"two\"]}"), 400).path("param")
                .asText()).isEqualTo("prompt");
    }

    @Test
    void wrongTypesAndOutOfRangeValuesNameTheParameter() throws Exception {
        String[][] cases = {
            {"\"temperature\": \"hot\"", "temperature"},
            {"\"temperature\": -1", "temperature"},
            {"\"top_p\": 1.5", "top_p"},
            {"\"top_k\": -2", "top_k"},
            {"\"min_p\": 2", "min_p"},
            {"\"n\": 0", "n"},
            {"\"max_tokens\": 0", "max_tokens"},
            {"\"max_tokens\": 2.5", "max_tokens"},
            {"\"presence_penalty\": 3", "presence_penalty"},
            {"\"frequency_penalty\": -2.5", "frequency_penalty"},
            {"\"repetition_penalty\": 0", "repetition_penalty"},
            {"\"logprobs\": 21", "logprobs"},
            {"\"seed\": \"x\"", "seed"},
            {"\"stop\": 5", "stop"},
            {"\"stop_token_ids\": [-1]", "stop_token_ids"},
            {"\"stream\": \"yes\"", "stream"},
            {"\"stream_options\": {\"include_usage\": true}", "stream_options"},
            {"\"min_tokens\": 20, \"max_tokens\": 5", "min_tokens"},
            {"\"logit_bias\": {\"5\": 100.5}", "logit_bias"},
            {"\"prompt_logprobs\": 21", "prompt_logprobs"},
            {"\"allowed_token_ids\": [-3]", "allowed_token_ids"},
            {"\"prompt\": [99999]", "prompt"},
        };
        for (String[] c : cases) {
            String body = c[0].startsWith("\"prompt\"") ? "{" + c[0] + "}" : "{\"prompt\": \"hi\", " + c[0] + "}";
            JsonNode e = Http.error(http.post("/v1/completions", body), 400);
            assertThat(e.path("param").asText()).as(c[0] + " -> " + e).isEqualTo(c[1]);
            assertThat(e.path("message").asText()).as(c[0]).contains(c[1].equals("prompt") ? "vocabulary" : c[1]);
        }
        JsonNode chat = Http.error(http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\","
                + " \"content\": \"hi\"}], \"top_logprobs\": 2}"), 400);
        assertThat(chat.path("param").asText()).isEqualTo("top_logprobs");
    }

    @Test
    void aTooLongContextStatesTheLimitAndTheCounts() throws Exception {
        int[] ones = new int[5000];
        Arrays.fill(ones, 1);
        JsonNode prompt = Http.error(http.post("/v1/completions", "{\"prompt\": " + Arrays.toString(ones) + "}"), 400);
        assertThat(prompt.path("message").asText()).contains("maximum context length is 4096 tokens",
                "5000 input tokens");
        int[] some = Arrays.copyOf(ones, 200);
        JsonNode max = Http.error(http.post("/v1/completions", "{\"prompt\": " + Arrays.toString(some)
                + ", \"max_tokens\": 4000}"), 400);
        assertThat(max.path("param").asText()).isEqualTo("max_tokens");
        assertThat(max.path("message").asText()).contains("4096", "200 input tokens", "4000");
    }

    @Test
    void unknownModelsAndRoutesAre404() throws Exception {
        JsonNode e = Http.error(http.post("/v1/completions", "{\"model\": \"gpt-9\", \"prompt\": \"hi\"}"), 404);
        assertThat(e.path("param").asText()).isEqualTo("model");
        assertThat(e.path("message").asText()).contains("gpt-9", "does not exist");
        Http.error(http.get("/v2/nothing"), 404);
        Http.error(http.get("/v1/completions"), 405);
    }

    @Test
    void anApiKeyGuardsTheApiButNotHealthOrMetrics() throws Exception {
        try (Gateway guarded = gateway(o -> o.apiKey("s3cret"))) {
            Http h = new Http(guarded.port());
            String body = "{\"prompt\": \"hi\", \"max_tokens\": 2}";
            Http.error(h.post("/v1/completions", body), 401);
            Http.error(h.post("/v1/completions", body, "Authorization", "Bearer wrong"), 401);
            Http.error(h.get("/v1/models"), 401);
            Http.error(h.post("/tokenize", "{\"prompt\": \"hi\"}"), 401);
            assertThat(h.post("/v1/completions", body, "Authorization", "Bearer s3cret").statusCode()).isEqualTo(200);
            assertThat(h.get("/health").statusCode()).isEqualTo(200);
            assertThat(h.get("/metrics").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aBodyOverTheLimitIs413() throws Exception {
        try (Gateway small = gateway(o -> o.http(limits(1024)))) {
            Http h = new Http(small.port());
            String big = "{\"prompt\": \"" + "x".repeat(4000) + "\"}";
            JsonNode e = Http.error(h.post("/v1/completions", big), 413);
            assertThat(e.path("message").asText()).contains("1024");
            assertThat(h.post("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 2}").statusCode())
                    .isEqualTo(200);
        }
    }

    @Test
    void aFullGatewayAnswers503WithRetryAfter() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        node.script = (r, out) -> {
            out.onNext(FakeNode.token(ab[0]));
            Thread.ofVirtual().start(() -> {
                try {
                    release.await();
                    FakeNode.tokens(ab[1]).run(r, out);
                } catch (Exception e) {
                    out.onError(e);
                }
            });
        };
        try (Gateway one = gateway(o -> o.maxInflight(1))) {
            Http h = new Http(one.port());
            int before = node.requests.size();
            CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> {
                try {
                    return h.post("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 2}");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            while (node.requests.size() == before) {
                Thread.sleep(5);
            }
            HttpResponse<String> second = h.post("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 2}");
            JsonNode e = Http.error(second, 503);
            assertThat(second.headers().firstValue("retry-after")).hasValue("1");
            assertThat(e.path("message").asText()).contains("limit");
            release.countDown();
            assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            assertThat(h.get("/metrics").body()).contains("afd_gateway_rejected_requests_total{reason=\"overloaded\"} 1.0");
        }
    }

    @Test
    void noReadyNodeMeans503AndFailingHealth() throws Exception {
        node.load = node.load(0, false);
        awaitHealth(gateway, 503);
        HttpResponse<String> r = http.post("/v1/completions", "{\"prompt\": \"hi\"}");
        JsonNode e = Http.error(r, 503);
        assertThat(r.headers().firstValue("retry-after")).isPresent();
        assertThat(e.path("message").asText()).contains("not serving");
        assertThat(Http.error(http.get("/health"), 503).path("message").asText()).contains("not serving");
    }

    @Test
    void aNodeFaultIs500WithAnIdAndANodeRefusalIs400() throws Exception {
        node.script = (r, out) -> out.onError(Status.INTERNAL.withDescription("kernel exploded").asRuntimeException());
        JsonNode e = Http.error(http.post("/v1/completions", "{\"prompt\": \"hi\"}"), 500);
        assertThat(e.path("code").asText()).isNotEmpty();
        assertThat(e.path("message").asText()).contains("error id " + e.path("code").asText())
                .doesNotContain("kernel exploded");
        node.script = (r, out) -> out.onError(Status.INVALID_ARGUMENT.withDescription("needs 99 KV blocks but this"
                + " node holds 4").asRuntimeException());
        assertThat(Http.error(http.post("/v1/completions", "{\"prompt\": \"hi\"}"), 400).path("message").asText())
                .contains("99 KV blocks");
    }

    @Test
    void anErrorAfterTheStreamBeganIsSentInBandThenDone() throws Exception {
        node.script = FakeNode.tokensThenError(Status.UNAVAILABLE.withDescription("ffn-node 2 died"), ab);
        HttpResponse<String> r = http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\":"
                + " \"hi\"}], \"stream\": true}");
        assertThat(r.statusCode()).isEqualTo(200);
        List<JsonNode> events = Http.events(r.body());
        assertThat(events.getFirst().path("choices").get(0).path("delta").path("role").asText())
                .isEqualTo("assistant");
        StringBuilder text = new StringBuilder();
        events.forEach(ev -> text.append(ev.path("choices").path(0).path("delta").path("content").asText("")));
        assertThat(text.toString()).isEqualTo("ab");
        JsonNode error = events.getLast().path("error");
        assertThat(error.path("message").asText()).contains("ffn-node 2 died");
        assertThat(error.path("type").asText()).isEqualTo("ServiceUnavailableError");
    }

    @Test
    void skipSpecialTokensDecidesWhetherSpecialTokensAreInTheText() throws Exception {
        int imStart = dev.afd.model.generator.SpecialTokens.forVocab(ModelInfo.read(model, null).vocabSize()).imStart();
        node.script = FakeNode.tokens(ab[0], imStart, ab[0]);
        String request = "{\"prompt\": \"hi\", \"max_tokens\": 3%s}";
        String skipped = http.postOk("/v1/completions", request.formatted("")).path("choices").get(0).path("text")
                .asText();
        String kept = http.postOk("/v1/completions", request.formatted(", \"skip_special_tokens\": false"))
                .path("choices").get(0).path("text").asText();
        assertThat(skipped).doesNotContain("<|im_start|>");
        assertThat(kept).contains("<|im_start|>");
        assertThat(kept.replace("<|im_start|>", "")).isEqualTo(skipped);
    }
}
