package dev.afd.gateway.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Templates' {@code tojson} writes what Hugging Face's (Python's {@code json.dumps(..., ensure_ascii=False)}) writes:
 * the expected texts are Python's own output for the same values.
 */
class PythonJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String VALUE = """
            {"name": "f", "text": "a\\"b\\\\c\\nd\\te\\u0001 ü 🙂 </x>", "n": [1, -2, 0.5, 1e16, 1.5e-05, 0.0001,
             123456789012345678.0, -0.0, 3.0, true, null], "empty": {}, "list": []}""";

    @Test
    void toJsonWritesAsPythonDoes() throws Exception {
        Map<String, Object> vars = Map.of("v", JSON.readValue(VALUE, Map.class), "w",
                JSON.readValue("{\"b\": 1, \"a\": [2]}", Map.class));
        assertThat(render("{{ v | tojson }}", vars)).isEqualTo("{\"name\": \"f\", \"text\": \"a\\\"b\\\\c\\nd\\te"
                + "\\u0001 ü 🙂 </x>\", \"n\": [1, -2, 0.5, 1e+16, 1.5e-05, 0.0001, 1.2345678901234568e+17, -0.0, 3.0,"
                + " true, null], \"empty\": {}, \"list\": []}");
        assertThat(render("{{ v | tojson(indent=2) }}", vars)).isEqualTo("""
                {
                  "name": "f",
                  "text": "a\\"b\\\\c\\nd\\te\\u0001 ü 🙂 </x>",
                  "n": [
                    1,
                    -2,
                    0.5,
                    1e+16,
                    1.5e-05,
                    0.0001,
                    1.2345678901234568e+17,
                    -0.0,
                    3.0,
                    true,
                    null
                  ],
                  "empty": {},
                  "list": []
                }""");
        assertThat(render("{{ w | tojson(sort_keys=true) }}", vars)).isEqualTo("{\"a\": [2], \"b\": 1}");
    }

    private static String render(String template, Map<String, Object> vars) {
        return new ChatTemplate(template, "", "").render(List.of(), false, vars);
    }
}
