package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.gateway.structured.SchemaValidator;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Structured output end to end: the random-weight tiny model, through the gateway, answers what the schema says. */
class StructuredOutputApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SCHEMA = """
            {"type": "object", "properties": {"city": {"type": "string", "maxLength": 10},
             "rooms": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
             "kind": {"enum": ["flat", "house"]}, "note": {"type": ["string", "null"]}},
             "required": ["city", "rooms", "kind"], "additionalProperties": false}""";

    @TempDir
    static Path dir;

    static GatewayStack stack;

    @BeforeAll
    static void start() throws Exception {
        stack = GatewayStack.start(dir, GatewayOptions.defaults());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private static String chat(String extra) {
        return """
                {"model": "tiny", "messages": [{"role": "user", "content": "Describe a home as JSON."}],
                 "max_tokens": 80%s}""".formatted(extra);
    }

    @Test
    void jsonSchemaAnswersParseAndValidateWholeAndStreamed() throws Exception {
        JsonNode schema = JSON.readTree(SCHEMA);
        String format = ", \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"home\","
                + " \"schema\": " + SCHEMA + "}}";
        for (int seed = 0; seed < 4; seed++) {
            JsonNode whole = stack.http.postOk("/v1/chat/completions", chat(format + ", \"seed\": " + seed));
            JsonNode choice = whole.path("choices").get(0);
            String content = choice.path("message").path("content").asText();
            assertThat(SchemaValidator.validate(schema, JSON.readTree(content))).as(content).isEmpty();
            assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
            StringBuilder streamed = new StringBuilder();
            for (JsonNode e : stack.http.stream("/v1/chat/completions", chat(format + ", \"seed\": " + seed
                    + ", \"stream\": true"))) {
                streamed.append(e.path("choices").path(0).path("delta").path("content").asText(""));
            }
            assertThat(streamed.toString()).isEqualTo(content);
        }
    }

    @Test
    void jsonObjectAndVllmConstraintsOnCompletions() throws Exception {
        JsonNode object = stack.http.postOk("/v1/chat/completions", chat(
                ", \"response_format\": {\"type\": \"json_object\"}, \"seed\": 3"));
        assertThat(JSON.readTree(object.path("choices").get(0).path("message").path("content").asText()).isObject())
                .isTrue();
        String completion = """
                {"model": "tiny", "prompt": "Answer:", "max_tokens": 30, "seed": 5, %s}""";
        JsonNode regex = stack.http.postOk("/v1/completions", completion.formatted(
                "\"structured_outputs\": {\"regex\": \"[A-Z][a-z]{2,5} \\\\d{1,3}\"}"));
        assertThat(regex.path("choices").get(0).path("text").asText()).matches("[A-Z][a-z]{2,5} \\d{1,3}");
        JsonNode choice = stack.http.postOk("/v1/completions", completion.formatted(
                "\"guided_choice\": [\"left\", \"right\", \"up\"]"));
        assertThat(choice.path("choices").get(0).path("text").asText()).isIn("left", "right", "up");
        JsonNode guided = stack.http.postOk("/v1/completions", completion.formatted(
                "\"guided_json\": {\"type\": \"array\", \"items\": {\"type\": \"boolean\"}, \"maxItems\": 4}"));
        JsonNode array = JSON.readTree(guided.path("choices").get(0).path("text").asText());
        assertThat(array.isArray()).isTrue();
        assertThat(array.size()).isLessThanOrEqualTo(4);
    }

    @Test
    void aTextFormatChangesNothing() throws Exception {
        String greedy = chat(", \"temperature\": 0, \"ignore_eos\": true");
        JsonNode plain = stack.http.postOk("/v1/chat/completions", greedy);
        JsonNode text = stack.http.postOk("/v1/chat/completions", greedy.replace("\"temperature\"",
                "\"response_format\": {\"type\": \"text\"}, \"temperature\""));
        assertThat(text.path("choices")).isEqualTo(plain.path("choices"));
    }

    @Test
    void whatCannotBeHonouredIsA400NamingIt() throws Exception {
        for (List<String> c : List.of(
                List.of(", \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"schema\":"
                        + " {\"type\": \"integer\", \"minimum\": 4}}}", "minimum"),
                List.of(", \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"schema\":"
                        + " {\"type\": \"string\", \"format\": \"hostname\"}}}", "hostname"),
                List.of(", \"structured_outputs\": {\"regex\": \"(a)\\\\1\"}", "back-reference"),
                List.of(", \"structured_outputs\": {\"grammar\": \"root ::= 'a'\"}", "structured_outputs.grammar"),
                List.of(", \"guided_choice\": [\"a\"], \"guided_regex\": \"b\"", "one output constraint"),
                List.of(", \"guided_choice\": [\"a\"], \"ignore_eos\": true", "ignore_eos"))) {
            HttpResponse<String> r = stack.http.post("/v1/chat/completions", chat(c.get(0)));
            JsonNode error = Http.error(r, 400);
            assertThat(error.path("message").asText()).as(c.get(0)).contains(c.get(1));
        }
    }
}
