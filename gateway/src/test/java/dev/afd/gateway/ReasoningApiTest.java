package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.gateway.reasoning.ReasoningParser;
import dev.afd.gateway.routing.Resolver;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.model.grammar.GrammarMatcher;
import dev.afd.wire.GrammarWire;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --reasoning-parser step3} over HTTP: the tiny model's gateway with and without the parser (same node, so the
 * same seed gives the same tokens), and a scripted node that makes the model end its reasoning with {@code </think>}.
 */
class ReasoningApiTest {
    private static final String SCRIPT = "Two and two: four. </think>The answer is 4.";

    @TempDir
    static Path dir;

    static GatewayStack plain;
    static Gateway reasoning;
    static FakeNode scripted;
    static Gateway scriptedGateway;

    @BeforeAll
    static void start() throws Exception {
        plain = GatewayStack.start(dir, GatewayOptions.defaults());
        reasoning = gateway(plain.modelDir, "127.0.0.1:" + plain.node.server().port());
        scripted = FakeNode.start(ModelInfo.read(plain.modelDir, null).fingerprint());
        try (ModelTokenizer tokenizer = ModelTokenizer.open(plain.modelDir)) {
            int[] ids = tokenizer.encode(SCRIPT, false);
            // One token per message: the tag arrives in pieces unless the vocabulary has it whole.
            scripted.script = FakeNode.tokens(ids);
        }
        scriptedGateway = gateway(plain.modelDir, scripted.target());
    }

    private static Gateway gateway(Path model, String node) throws Exception {
        Gateway g = Gateway.start(GatewayOptions.builder().address("127.0.0.1", 0)
                .intervals(Duration.ofMillis(50), Duration.ofSeconds(5)).reasoningParser(ReasoningParser.STEP3)
                .build(), model, null, Resolver.fixed(List.of(node)));
        new GatewayStack.Ready(g).await();
        return g;
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[] {scriptedGateway, scripted, reasoning, plain}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    private static String chat(String extra) {
        return """
                {"model": "tiny", "messages": [{"role": "user", "content": "What is two and two?"}],
                 "max_tokens": 24, "seed": 7%s}""".formatted(extra);
    }

    @Test
    void withoutTheEndTagTheWholeOutputIsReasoning() throws Exception {
        Http http = new Http(reasoning.port());
        JsonNode off = plain.http.postOk("/v1/chat/completions", chat("")).path("choices").get(0).path("message");
        JsonNode on = http.postOk("/v1/chat/completions", chat("")).path("choices").get(0).path("message");
        assertThat(off.has("reasoning_content")).as("parser off: unchanged").isFalse();
        String text = off.path("content").asText();
        assertThat(text).isNotEmpty().doesNotContain("</think>");
        assertThat(on.path("reasoning_content").asText()).isEqualTo(text);
        assertThat(on.path("content").isNull()).isTrue();

        List<String> streamed = joinedDeltas(http.stream("/v1/chat/completions", chat(", \"stream\": true")));
        assertThat(streamed).containsExactly(text, "");
        List<String> streamedOff = joinedDeltas(plain.http.stream("/v1/chat/completions", chat(", \"stream\": true")));
        assertThat(streamedOff).containsExactly("", text);
    }

    @Test
    void theEndTagSplitsReasoningFromTheAnswer() throws Exception {
        Http http = new Http(scriptedGateway.port());
        JsonNode choice = http.postOk("/v1/chat/completions", chat("")).path("choices").get(0);
        assertThat(choice.path("message").path("reasoning_content").asText()).isEqualTo("Two and two: four. ");
        assertThat(choice.path("message").path("content").asText()).isEqualTo("The answer is 4.");

        List<JsonNode> events = http.stream("/v1/chat/completions", chat(", \"stream\": true"));
        assertThat(joinedDeltas(events)).containsExactly("Two and two: four. ", "The answer is 4.");
        assertThat(events).noneMatch(e -> e.toString().contains("</think>"));
    }

    @Test
    void completionsTextStaysWhole() throws Exception {
        String body = """
                {"model": "tiny", "prompt": "Two and two", "max_tokens": 12}""";
        JsonNode choice = new Http(scriptedGateway.port()).postOk("/v1/completions", body).path("choices").get(0);
        assertThat(choice.path("text").asText()).isEqualTo(SCRIPT.substring(0, choice.path("text").asText().length()));
        assertThat(choice.has("reasoning_content")).isFalse();
    }

    @Test
    void structuredOutputConstrainsOnlyTheAnswer() throws Exception {
        int before = scripted.requests.size();
        new Http(scriptedGateway.port()).postOk("/v1/chat/completions",
                chat(", \"response_format\": {\"type\": \"json_object\"}"));
        GrammarMatcher m = new GrammarMatcher(GrammarWire.fromProto(scripted.requests.get(before).getGrammar()));
        assertThat(m.advance(m.start(), bytes("free {reasoning</think>{\"a\": 1}")).accepting()).isTrue();
        assertThat(m.advance(m.start(), bytes("{\"a\": 1}")).accepting()).as("an answer needs </think> first")
                .isFalse();
        assertThat(m.advance(m.start(), bytes("thought</think>not json")).dead()).isTrue();

        // The random model reasons freely until its token budget makes the grammar close the reasoning and answer.
        String format = ", \"response_format\": {\"type\": \"json_object\"}";
        Http http = new Http(reasoning.port());
        JsonNode real = http.postOk("/v1/chat/completions", chat(format)).path("choices").get(0);
        assertThat(real.path("finish_reason").asText()).isEqualTo("stop");
        String thought = real.path("message").path("reasoning_content").asText();
        String answer = real.path("message").path("content").asText();
        assertThat(thought).isNotEmpty().doesNotContain("</think>");
        assertThat(Http.JSON.readTree(answer).isObject()).as(answer).isTrue();
        assertThat(joinedDeltas(http.stream("/v1/chat/completions", chat(format + ", \"stream\": true"))))
                .containsExactly(thought, answer);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A stream's delta.reasoning_content and delta.content, each joined. */
    private static List<String> joinedDeltas(List<JsonNode> events) {
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder();
        for (JsonNode e : events) {
            JsonNode delta = e.path("choices").path(0).path("delta");
            reasoning.append(delta.path("reasoning_content").asText(""));
            content.append(delta.path("content").asText(""));
        }
        return List.of(reasoning.toString(), content.toString());
    }
}
