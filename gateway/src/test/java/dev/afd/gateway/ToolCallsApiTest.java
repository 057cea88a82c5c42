package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.gateway.reasoning.ReasoningParser;
import dev.afd.gateway.routing.Resolver;
import dev.afd.gateway.structured.SchemaValidator;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.gateway.toolcalls.ToolCallParser;
import dev.afd.model.grammar.GrammarMatcher;
import dev.afd.wire.GrammarWire;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tool calls over HTTP. Which path each test covers: {@code auto} parsing runs against a scripted node that makes the
 * model write a hermes call (a random-weight model never would, and {@code auto} must stay unconstrained);
 * {@code required} and named choices run on the real tiny model, whose output the grammar forces into calls; the
 * multi-turn check reads the prompt the scripted node received; a second scripted node reasons before its call, for
 * the reasoning parser and the tool-call parser together.
 */
class ToolCallsApiTest {
    /** Step-3-style reasoning, which the thinking node's model writes before {@link #CALL_TEXT}. */
    private static final String THOUGHT = "The weather needs a tool. </think>";
    /** What the scripted node's model writes: content, then a hermes call. */
    static final String CALL_TEXT = "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
            + " {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>";
    private static final String TOOLS = """
            [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                "days": {"type": "integer"}}, "required": ["city", "days"]}}},
             {"type": "function", "function": {"name": "get_time",
              "parameters": {"type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}},
                "required": ["zone"]}}}]""";

    @TempDir
    static Path dir;

    static GatewayStack real;
    static Gateway realHermes;
    static FakeNode scripted;
    static Gateway scriptedHermes;
    static FakeNode thinking;
    static Gateway thinkingHermes;

    @BeforeAll
    static void start() throws Exception {
        real = GatewayStack.start(dir, GatewayOptions.defaults());
        realHermes = hermesGateway(real.modelDir, "127.0.0.1:" + real.node.server().port(), null);
        scripted = FakeNode.start(ModelInfo.read(real.modelDir, null).fingerprint());
        try (ModelTokenizer tokenizer = ModelTokenizer.open(real.modelDir)) {
            // One token per message: the markers arrive in pieces.
            scripted.script = FakeNode.tokens(tokenizer.encode(CALL_TEXT, false));
        }
        scriptedHermes = hermesGateway(real.modelDir, scripted.target(), null);
        thinking = FakeNode.start(scripted.fingerprint);
        try (ModelTokenizer tokenizer = ModelTokenizer.open(real.modelDir)) {
            thinking.script = FakeNode.tokens(tokenizer.encode(THOUGHT + CALL_TEXT, false));
        }
        thinkingHermes = hermesGateway(real.modelDir, thinking.target(), ReasoningParser.STEP3);
    }

    private static Gateway hermesGateway(Path model, String node, ReasoningParser reasoning) throws Exception {
        Gateway g = Gateway.start(GatewayOptions.builder().address("127.0.0.1", 0)
                .intervals(Duration.ofMillis(50), Duration.ofSeconds(5)).toolCallParser(ToolCallParser.HERMES)
                .reasoningParser(reasoning).build(), model, null, Resolver.fixed(List.of(node)));
        new GatewayStack.Ready(g).await();
        return g;
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {thinkingHermes, thinking, scriptedHermes, scripted, realHermes,
                real}) {
            if (c != null) {
                c.close();
            }
        }
    }

    private static String chat(String extra) {
        return """
                {"model": "tiny", "messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": %s,
                 "max_tokens": 60, "seed": 3%s}""".formatted(TOOLS, extra);
    }

    @Test
    void autoParsesTheCallTheModelWroteWholeAndStreamed() throws Exception {
        Http http = new Http(scriptedHermes.port());
        JsonNode choice = http.postOk("/v1/chat/completions", chat("")).path("choices").get(0);
        assertThat(choice.path("finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode message = choice.path("message");
        assertThat(message.path("content").asText()).isEqualTo("Let me look.\n");
        assertThat(message.path("tool_calls")).hasSize(1);
        JsonNode call = message.path("tool_calls").get(0);
        assertThat(call.path("id").asText()).startsWith("chatcmpl-tool-");
        assertThat(call.path("type").asText()).isEqualTo("function");
        assertThat(call.path("function").path("name").asText()).isEqualTo("get_weather");
        assertThat(Http.JSON.readTree(call.path("function").path("arguments").asText()))
                .isEqualTo(Http.JSON.readTree("{\"city\": \"Paris\", \"days\": 2}"));

        List<JsonNode> events = http.stream("/v1/chat/completions", chat(", \"stream\": true"));
        Assembled streamed = assemble(events);
        assertThat(streamed.content()).isEqualTo("Let me look.\n");
        assertThat(streamed.calls()).containsExactly("get_weather " + call.path("function").path("arguments")
                .asText());
        assertThat(streamed.finishReason()).isEqualTo("tool_calls");
        assertThat(events).noneMatch(e -> e.path("choices").path(0).path("delta").path("content").asText()
                .contains("<tool"));
    }

    @Test
    void withAReasoningParserTheCallsAreReadFromTheAnswerAfterTheReasoning() throws Exception {
        Http http = new Http(thinkingHermes.port());
        JsonNode choice = http.postOk("/v1/chat/completions", chat("")).path("choices").get(0);
        JsonNode message = choice.path("message");
        assertThat(message.path("reasoning_content").asText()).isEqualTo("The weather needs a tool. ");
        assertThat(message.path("content").asText()).isEqualTo("Let me look.\n");
        assertThat(names(message.path("tool_calls"))).containsExactly("get_weather {\"city\":\"Paris\",\"days\":2}");
        assertThat(choice.path("finish_reason").asText()).isEqualTo("tool_calls");

        List<JsonNode> events = http.stream("/v1/chat/completions", chat(", \"stream\": true"));
        Assembled streamed = assemble(events);
        assertThat(streamed.content()).isEqualTo("Let me look.\n");
        assertThat(streamed.calls()).containsExactlyElementsOf(names(message.path("tool_calls")));
        assertThat(streamed.finishReason()).isEqualTo("tool_calls");
        StringBuilder reasoning = new StringBuilder();
        events.forEach(e -> reasoning.append(e.path("choices").path(0).path("delta").path("reasoning_content")
                .asText("")));
        assertThat(reasoning.toString()).isEqualTo("The weather needs a tool. ");
    }

    @Test
    void noneLeavesTheTextWholeAndTheToolsStillReachTheTemplate() throws Exception {
        int before = scripted.requests.size();
        JsonNode choice = new Http(scriptedHermes.port()).postOk("/v1/chat/completions",
                chat(", \"tool_choice\": \"none\"")).path("choices").get(0);
        assertThat(choice.path("message").path("content").asText()).isEqualTo(CALL_TEXT);
        assertThat(choice.path("message").path("tool_calls")).isEmpty();
        assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
        assertThat(prompt(scripted.requests.get(before))).contains("<tools>\n{\"type\": \"function\","
                + " \"function\": {\"name\": \"get_weather\"");
    }

    @Test
    void autoWithoutAParserIsRefusedNamingTheOption() throws Exception {
        HttpResponse<String> r = real.http.post("/v1/chat/completions", chat(""));
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = Http.JSON.readTree(r.body()).path("error");
        assertThat(error.path("param").asText()).isEqualTo("tool_choice");
        assertThat(error.path("message").asText()).contains("--tool-call-parser");
    }

    @Test
    void requiredForcesValidCallsOnTheRealModel() throws Exception {
        for (Http http : List.of(real.http, new Http(realHermes.port()))) {
            JsonNode choice = http.postOk("/v1/chat/completions", chat(", \"tool_choice\": \"required\""))
                    .path("choices").get(0);
            assertThat(choice.path("finish_reason").asText()).isEqualTo("tool_calls");
            assertThat(choice.path("message").path("content").isNull()).isTrue();
            JsonNode calls = choice.path("message").path("tool_calls");
            assertThat(calls.size()).isPositive();
            for (JsonNode call : calls) {
                assertValidArguments(call.path("function").path("name").asText(),
                        call.path("function").path("arguments").asText());
            }
            Assembled streamed = assemble(http.stream("/v1/chat/completions",
                    chat(", \"tool_choice\": \"required\", \"stream\": true")));
            assertThat(streamed.calls()).containsExactlyElementsOf(names(calls));
            assertThat(streamed.finishReason()).isEqualTo("tool_calls");
        }
        JsonNode single = real.http.postOk("/v1/chat/completions", chat(", \"tool_choice\": \"required\","
                + " \"parallel_tool_calls\": false")).path("choices").get(0).path("message").path("tool_calls");
        assertThat(single).hasSize(1);
    }

    @Test
    void aNamedChoiceForcesThatFunctionsArgumentsAndStops() throws Exception {
        String named = ", \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}";
        JsonNode choice = real.http.postOk("/v1/chat/completions", chat(named)).path("choices").get(0);
        assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
        assertThat(choice.path("message").path("content").isNull()).isTrue();
        JsonNode call = choice.path("message").path("tool_calls").get(0);
        assertThat(call.path("function").path("name").asText()).isEqualTo("get_weather");
        assertValidArguments("get_weather", call.path("function").path("arguments").asText());
        Assembled streamed = assemble(real.http.stream("/v1/chat/completions", chat(named + ", \"stream\": true")));
        assertThat(streamed.calls()).containsExactlyElementsOf(names(choice.path("message").path("tool_calls")));
        assertThat(streamed.finishReason()).isEqualTo("stop");
    }

    @Test
    void theRequiredGrammarAcceptsCallsToTheToolsOnly() throws Exception {
        int before = scripted.requests.size();
        new Http(scriptedHermes.port()).post("/v1/chat/completions", chat(", \"tool_choice\": \"required\""));
        GrammarMatcher m = new GrammarMatcher(GrammarWire.fromProto(scripted.requests.get(before).getGrammar()));
        assertThat(accepts(m, "[{\"name\": \"get_time\", \"parameters\": {\"zone\": \"UTC\"}}, {\"name\":"
                + " \"get_weather\", \"parameters\": {\"city\": \"Oslo\", \"days\": 1}}]")).isTrue();
        assertThat(accepts(m, "[]")).as("at least one call").isFalse();
        assertThat(accepts(m, "[{\"name\": \"get_date\", \"parameters\": {}}]")).isFalse();
        assertThat(accepts(m, "[{\"name\": \"get_time\", \"parameters\": {\"zone\": \"PST\"}}]")).isFalse();
    }

    @Test
    void badToolRequestsAreRefusedNamingTheField() throws Exception {
        assertRefused(chat(", \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"nope\"}}"),
                "tool_choice", "not among 'tools'");
        assertRefused(chat(", \"tool_choice\": \"required\", \"response_format\": {\"type\": \"json_object\"}"),
                "tool_choice", "cannot be combined");
        assertRefused(chat(", \"tool_choice\": \"sometimes\""), "tool_choice", "\"required\"");
        assertRefused("""
                {"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"}""", "tool_choice",
                "needs 'tools'");
        assertRefused("""
                {"messages": [{"role": "user", "content": "x"}], "tool_choice": "required", "tools": [{"type":
                 "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"n":
                 {"type": "integer", "minimum": 3}}}}}]}""", "tools[0].function.parameters", "'minimum'");
        assertRefused("""
                {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {}}]}""",
                "tools[0].function.name", "non-empty string");
        assertRefused("""
                {"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                 "function": {"name": "f", "arguments": "{not json"}}]}]}""",
                "messages[0].tool_calls[0].function.arguments", "not valid JSON");
        assertRefused("""
                {"messages": [{"role": "tool", "content": "42"}]}""", "messages[0].tool_call_id", "the id of the call");
    }

    @Test
    void aConversationWithCallsAndResultsRendersThroughTheTemplate() throws Exception {
        int before = scripted.requests.size();
        String body = """
                {"messages": [{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                   "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 1}"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"}],
                 "tools": [{"type": "function", "function": {"name": "get_weather"}}], "tool_choice": "auto",
                 "max_tokens": 4}""";
        new Http(scriptedHermes.port()).postOk("/v1/chat/completions", body);
        // What Python's Jinja2 (Hugging Face's renderer) makes of the same template and conversation.
        assertThat(prompt(scripted.requests.get(before))).isEqualTo("<|begin_of_text|><|im_start|>system\nBe brief."
                + "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are"
                + " provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\":"
                + " \"function\", \"function\": {\"name\": \"get_weather\"}}\n</tools>\n\nFor each function call,"
                + " return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
                + "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
                + "<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n"
                + "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 1}}\n</tool_call>\n"
                + "<|im_end|>\n<|im_start|>user\n<tool_response>\nsunny, 21 C\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    private static void assertRefused(String body, String param, String message) throws Exception {
        HttpResponse<String> r = new Http(scriptedHermes.port()).post("/v1/chat/completions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = Http.JSON.readTree(r.body()).path("error");
        assertThat(error.path("param").asText()).as(r.body()).isEqualTo(param);
        assertThat(error.path("message").asText()).contains(message);
    }

    private static void assertValidArguments(String name, String arguments) throws Exception {
        JsonNode schema = null;
        for (JsonNode tool : Http.JSON.readTree(TOOLS)) {
            if (tool.path("function").path("name").asText().equals(name)) {
                schema = tool.path("function").path("parameters");
            }
        }
        assertThat(schema).as("a call to an offered tool: " + name).isNotNull();
        assertThat(SchemaValidator.validate(schema, Http.JSON.readTree(arguments))).as(arguments).isEmpty();
    }

    private static boolean accepts(GrammarMatcher m, String text) {
        return m.advance(m.start(), text.getBytes(StandardCharsets.UTF_8)).accepting();
    }

    private static String prompt(dev.afd.proto.GenerateRequest request) throws Exception {
        try (ModelTokenizer tokenizer = ModelTokenizer.open(real.modelDir)) {
            return tokenizer.decode(request.getPromptIdsList().stream().mapToInt(Integer::intValue).toArray(), false);
        }
    }

    private static List<String> names(JsonNode calls) {
        List<String> out = new ArrayList<>();
        calls.forEach(c -> out.add(c.path("function").path("name").asText() + " " + c.path("function")
                .path("arguments").asText()));
        return out;
    }

    /** A stream assembled as the official clients do: content joined, each call's arguments appended by index. */
    private record Assembled(String content, List<String> calls, String finishReason) {}

    private static Assembled assemble(List<JsonNode> events) {
        StringBuilder content = new StringBuilder();
        List<String[]> calls = new ArrayList<>();
        String finish = null;
        for (JsonNode e : events) {
            JsonNode c = e.path("choices").path(0);
            content.append(c.path("delta").path("content").asText(""));
            for (JsonNode d : c.path("delta").path("tool_calls")) {
                int index = d.path("index").asInt();
                if (index == calls.size()) {
                    assertThat(d.path("id").asText()).startsWith("chatcmpl-tool-");
                    assertThat(d.path("type").asText()).isEqualTo("function");
                    calls.add(new String[] {d.path("function").path("name").asText(), ""});
                }
                calls.get(index)[1] += d.path("function").path("arguments").asText();
            }
            if (c.hasNonNull("finish_reason")) {
                finish = c.path("finish_reason").asText();
            }
        }
        return new Assembled(content.toString(), calls.stream().map(c -> c[0] + " " + c[1]).toList(), finish);
    }
}
