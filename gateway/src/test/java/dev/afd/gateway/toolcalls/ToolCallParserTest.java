package dev.afd.gateway.toolcalls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The {@code hermes} and {@code step3} formats, whole and streamed: a streamed answer, cut anywhere (at every single
 * position, and into one-character pieces), must assemble to exactly the whole answer's content and calls.
 */
class ToolCallParserTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Tool> TOOLS = tools("""
            {"get_weather": {"type": "object", "properties": {"city": {"type": "string"},
                "days": {"type": "integer"}, "celsius": {"type": "boolean"}, "ratio": {"type": "number"},
                "tags": {"type": "array"}, "where": {"type": "object"}, "none": {"type": "null"}}},
             "get_time": {"type": "object", "properties": {"zone": {"type": "string"}}}}""");

    private static final String STEP3_TWO_CALLS = "Let me check. <｜tool_calls_begin｜><｜tool_call_begin｜>function"
            + "<｜tool_sep｜><steptml:invoke name=\"get_weather\"><steptml:parameter name=\"city\"> Paris "
            + "</steptml:parameter><steptml:parameter name=\"days\">3</steptml:parameter><steptml:parameter"
            + " name=\"celsius\">True</steptml:parameter><steptml:parameter name=\"ratio\">0.5</steptml:parameter>"
            + "<steptml:parameter name=\"tags\">[\"a\", 1]</steptml:parameter><steptml:parameter name=\"where\">"
            + "{\"x\": 1}</steptml:parameter><steptml:parameter name=\"none\">null</steptml:parameter>"
            + "</steptml:invoke><｜tool_call_end｜>\n<｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke"
            + " name=\"get_time\"><steptml:parameter name=\"zone\">a < b</steptml:parameter></steptml:invoke>"
            + "<｜tool_call_end｜><｜tool_calls_end｜>";

    private static final String HERMES_TWO_CALLS = "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
            + " {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\":"
            + " {\"zone\": \"<tool_call>\"}}\n</tool_call>";

    @Test
    void step3CallsAreReadAndTypedByTheSchema() throws Exception {
        ToolCallResult r = whole(ToolCallParser.STEP3, STEP3_TWO_CALLS);
        assertThat(r.content()).isEqualTo("Let me check. ");
        assertThat(r.calls()).extracting(ToolCall::name).containsExactly("get_weather", "get_time");
        assertThat(JSON.readTree(r.calls().get(0).arguments())).isEqualTo(JSON.readTree("""
                {"city": "Paris", "days": 3, "celsius": true, "ratio": 0.5, "tags": ["a", 1], "where": {"x": 1},
                 "none": null}"""));
        assertThat(JSON.readTree(r.calls().get(1).arguments())).isEqualTo(JSON.readTree("{\"zone\": \"a < b\"}"));
        assertThat(r.calls()).allSatisfy(c -> assertThat(c.id()).matches("chatcmpl-tool-[0-9a-f]{32}"));
        assertThat(r.calls().get(0).id()).isNotEqualTo(r.calls().get(1).id());
    }

    @Test
    void step3ValuesThatDoNotReadAsTheirTypeStayStrings() throws Exception {
        String text = "<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke"
                + " name=\"get_weather\"><steptml:parameter name=\"days\">three</steptml:parameter><steptml:parameter"
                + " name=\"celsius\">yes</steptml:parameter><steptml:parameter name=\"extra\"> 7 </steptml:parameter>"
                + "</steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜> after";
        ToolCallResult r = whole(ToolCallParser.STEP3, text);
        assertThat(JSON.readTree(r.calls().getFirst().arguments())).isEqualTo(JSON.readTree("""
                {"days": "three", "celsius": "yes", "extra": "7"}"""));
        assertThat(r.content()).as("text after the block is content, as in vLLM").isEqualTo(" after");
    }

    @Test
    void hermesCallsAreReadWithTheContentBeforeThem() throws Exception {
        ToolCallResult r = whole(ToolCallParser.HERMES, HERMES_TWO_CALLS);
        assertThat(r.content()).isEqualTo("Checking.\n");
        assertThat(r.calls()).extracting(ToolCall::name).containsExactly("get_weather", "get_time");
        assertThat(JSON.readTree(r.calls().get(0).arguments())).isEqualTo(JSON.readTree("""
                {"city": "Paris", "days": 3}"""));
        assertThat(JSON.readTree(r.calls().get(1).arguments())).isEqualTo(JSON.readTree("""
                {"zone": "<tool_call>"}"""));
    }

    @Test
    void textWithoutCallsIsAllContentAndOnlyCallsLeaveNoContent() {
        ToolCallResult plain = whole(ToolCallParser.HERMES, "Just text with < and <tool and </tool_call>.");
        assertThat(plain.content()).isEqualTo("Just text with < and <tool and </tool_call>.");
        assertThat(plain.calls()).isEmpty();
        ToolCallResult only = whole(ToolCallParser.HERMES, "<tool_call>{\"name\": \"get_time\"}</tool_call>\n");
        assertThat(only.content()).isNull();
        assertThat(only.calls()).singleElement().satisfies(c -> assertThat(c.arguments()).isEqualTo("{}"));
    }

    @Test
    void aBlockThatIsNotACallIsContentAndAnUnclosedLastCallIsReadAtTheEnd() {
        ToolCallResult bad = whole(ToolCallParser.HERMES, "<tool_call>{\"nome\": 1}</tool_call>");
        assertThat(bad.calls()).isEmpty();
        assertThat(bad.content()).isEqualTo("<tool_call>{\"nome\": 1}</tool_call>");
        ToolCallResult unclosed = whole(ToolCallParser.HERMES, "<tool_call>{\"name\": \"get_time\", \"arguments\":"
                + " {\"zone\": \"UTC\"}}");
        assertThat(unclosed.calls()).extracting(ToolCall::arguments).containsExactly("{\"zone\":\"UTC\"}");
        ToolCallResult cut = whole(ToolCallParser.HERMES, "<tool_call>{\"name\": \"get_ti");
        assertThat(cut.calls()).isEmpty();
        assertThat(cut.content()).isEqualTo("<tool_call>{\"name\": \"get_ti");
        ToolCallResult step3 = whole(ToolCallParser.STEP3, "<｜tool_calls_begin｜><｜tool_call_begin｜>python"
                + "<｜tool_sep｜>print(1)<｜tool_call_end｜><｜tool_calls_end｜>");
        assertThat(step3.calls()).as("only 'function' calls").isEmpty();
    }

    @Test
    void withoutParallelCallsOnlyTheFirstIsKept() {
        ToolCallResult r = ToolCallStream.whole(ToolCallParser.HERMES.stream(TOOLS, 1), HERMES_TWO_CALLS);
        assertThat(r.calls()).extracting(ToolCall::name).containsExactly("get_weather");
    }

    @Test
    void aStreamCutAtAnyPositionAssemblesToTheWholeAnswer() {
        for (ToolCallParser p : ToolCallParser.values()) {
            for (String text : List.of(STEP3_TWO_CALLS, HERMES_TWO_CALLS, "plain <tool_ text <｜tool_calls",
                    "<tool_call>{\"name\": \"get_time\"}</tool_call> trailing <tool_call>{bad}</tool_call>")) {
                ToolCallResult whole = whole(p, text);
                for (int cut = 0; cut <= text.length(); cut++) {
                    assertThat(streamed(p, List.of(text.substring(0, cut), text.substring(cut))))
                            .as(p + " cut at " + cut + " of " + text).isEqualTo(withoutIds(whole));
                }
                List<String> chars = text.codePoints().mapToObj(Character::toString).toList();
                assertThat(streamed(p, chars)).as(p + " char by char: " + text).isEqualTo(withoutIds(whole));
            }
        }
    }

    @Test
    void contentBeforeTheCallsStreamsAtOnceAndOnlyAPossibleMarkerIsHeld() {
        ToolCallStream s = ToolCallParser.HERMES.stream(TOOLS, Integer.MAX_VALUE);
        assertThat(s.feed("Hello <to").content()).isEqualTo("Hello ");
        assertThat(s.feed("ol").content()).isNull();
        assertThat(s.feed("s are").content()).isEqualTo("<tools are");
        ToolCallUpdate start = s.feed(" <tool_call>{\"name\": \"get_time\", \"arguments\": {}}");
        assertThat(start.content()).isEqualTo(" ");
        assertThat(start.calls()).isEmpty();
        ToolCallUpdate done = s.feed("</tool_call>");
        assertThat(done.calls()).singleElement().satisfies(d -> {
            assertThat(d.index()).isZero();
            assertThat(d.id()).startsWith("chatcmpl-tool-");
            assertThat(d.name()).isEqualTo("get_time");
            assertThat(d.arguments()).isEqualTo("{}");
        });
        assertThat(s.called()).isTrue();
        assertThat(s.flush().isEmpty()).isTrue();
    }

    @Test
    void requiredAndNamedOutputsBecomeCalls() {
        ToolCallResult required = ToolCallStream.whole(new RequiredStream(),
                "[{\"name\": \"get_time\", \"parameters\": {\"zone\": \"UTC\"}}, {\"name\": \"get_weather\","
                        + " \"parameters\": {}}]");
        assertThat(required.content()).isNull();
        assertThat(required.calls()).extracting(ToolCall::name, ToolCall::arguments)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("get_time", "{\"zone\":\"UTC\"}"),
                        org.assertj.core.groups.Tuple.tuple("get_weather", "{}"));
        ToolCallResult cutOff = ToolCallStream.whole(new RequiredStream(), "[{\"name\": \"get_ti");
        assertThat(cutOff.calls()).isEmpty();
        assertThat(cutOff.content()).isEqualTo("[{\"name\": \"get_ti");

        NamedStream named = new NamedStream("get_time");
        ToolCallDelta first = named.feed("{\"zone\"").calls().getFirst();
        assertThat(first.id()).startsWith("chatcmpl-tool-");
        assertThat(first.name()).isEqualTo("get_time");
        ToolCallDelta next = named.feed(": \"UTC\"}").calls().getFirst();
        assertThat(next.id()).isNull();
        assertThat(next.name()).isNull();
        assertThat(first.arguments() + next.arguments()).isEqualTo("{\"zone\": \"UTC\"}");
        assertThat(ToolCallStream.whole(new NamedStream("f"), "").calls()).extracting(ToolCall::arguments)
                .containsExactly("");
    }

    @Test
    void parsersAreNamedAsTheOptionTakesThem() {
        assertThat(ToolCallParser.named("hermes")).isEqualTo(ToolCallParser.HERMES);
        assertThat(ToolCallParser.named("Step3")).isEqualTo(ToolCallParser.STEP3);
        assertThatThrownBy(() -> ToolCallParser.named("llama3_json")).hasMessageContaining("hermes, step3");
    }

    private static ToolCallResult whole(ToolCallParser p, String text) {
        return ToolCallStream.whole(p.stream(TOOLS, Integer.MAX_VALUE), text);
    }

    /** A streamed answer assembled the way the official clients do: content joined, arguments appended by index. */
    private static ToolCallResult streamed(ToolCallParser p, List<String> pieces) {
        ToolCallStream s = p.stream(TOOLS, Integer.MAX_VALUE);
        StringBuilder content = new StringBuilder();
        List<String[]> calls = new ArrayList<>();
        List<ToolCallUpdate> updates = new ArrayList<>();
        pieces.forEach(piece -> updates.add(s.feed(piece)));
        updates.add(s.flush());
        for (ToolCallUpdate u : updates) {
            if (u.content() != null) {
                content.append(u.content());
            }
            for (ToolCallDelta d : u.calls()) {
                if (d.index() == calls.size()) {
                    assertThat(d.id()).as("the first piece of a call carries its id").isNotNull();
                    calls.add(new String[] {d.name(), d.arguments()});
                } else {
                    calls.get(d.index())[1] += d.arguments();
                }
            }
        }
        return new ToolCallResult(content.toString(), calls.stream().map(c -> new ToolCall("", c[0], c[1]))
                .toList());
    }

    private static ToolCallResult withoutIds(ToolCallResult r) {
        return new ToolCallResult(r.content(), r.calls().stream().map(c -> new ToolCall("", c.name(), c.arguments()))
                .toList());
    }

    private static Map<String, Tool> tools(String json) {
        try {
            Map<String, Tool> tools = new LinkedHashMap<>();
            JsonNode n = JSON.readTree(json);
            n.fields().forEachRemaining(e -> tools.put(e.getKey(), new Tool(e.getKey(), e.getValue())));
            return tools;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
