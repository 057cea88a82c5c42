package dev.afd.gateway.structured;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.JsonFields;
import dev.afd.model.grammar.Grammar;
import dev.afd.model.grammar.GrammarBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Reads the request fields that constrain the output and compiles them into the grammar the attention node applies:
 * OpenAI's {@code response_format} ({@code text}, {@code json_object}, {@code json_schema}), vLLM's
 * {@code structured_outputs} ({@code json}, {@code regex}, {@code choice}, {@code json_object}) and its older
 * {@code guided_json}, {@code guided_regex}, {@code guided_choice}. At most one constraint per request; whatever cannot
 * be honoured is a 400 naming it.
 *
 * <p>Stateless.
 */
public final class StructuredOutput {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** vLLM fields that pick another kind of constraint or tune its backend in ways this server does not follow. */
    private static final List<String> REFUSED = List.of("guided_grammar", "guided_whitespace_pattern");

    private StructuredOutput() {}

    /**
     * The grammar the request's output must follow, or null for free text.
     *
     * @throws ApiException 400 naming the field when a constraint is malformed, conflicting or cannot be honoured
     */
    public static Grammar read(JsonFields f) {
        List<String> given = new ArrayList<>();
        Grammar grammar = null;
        JsonNode format = f.raw("response_format");
        if (format != null) {
            grammar = responseFormat(format);
            if (grammar != null) {
                given.add("response_format");
            }
        }
        JsonNode structured = f.raw("structured_outputs");
        if (structured != null && !structured.isNull()) {
            grammar = structuredOutputs(structured);
            given.add("structured_outputs");
        }
        for (String kind : List.of("json", "regex", "choice")) {
            JsonNode v = f.raw("guided_" + kind);
            if (v != null && !v.isNull()) {
                grammar = guarded("guided_" + kind, () -> kind(kind, v, "guided_" + kind));
                given.add("guided_" + kind);
            }
        }
        for (String name : REFUSED) {
            if (f.raw(name) != null) {
                throw ApiException.badRequest(name, "'" + name + "' is not supported by this server; use"
                        + " 'structured_outputs' with json, regex or choice");
            }
        }
        // Which backend compiles the constraint is this server's business: the field is read and has no effect.
        f.raw("guided_decoding_backend");
        if (given.size() > 1) {
            throw ApiException.badRequest(given.get(1), "give one output constraint, not " + String.join(" and ",
                    given));
        }
        return grammar;
    }

    private static Grammar responseFormat(JsonNode format) {
        if (!format.isObject()) {
            throw JsonFields.wrongType("response_format", "an object", format);
        }
        String type = format.path("type").asText("");
        return switch (type) {
            case "text" -> null;
            case "json_object" -> JsonSchemaGrammar.anyObject();
            case "json_schema" -> {
                JsonNode spec = format.path("json_schema");
                JsonNode schema = spec.get("schema");
                if (schema == null) {
                    throw ApiException.badRequest("response_format", "'response_format.json_schema.schema' is"
                            + " required with type json_schema");
                }
                yield guarded("response_format", () -> JsonSchemaGrammar.compile(schema));
            }
            default -> throw ApiException.badRequest("response_format", "'response_format.type' must be text,"
                    + " json_object or json_schema, got '" + type + "'");
        };
    }

    private static Grammar structuredOutputs(JsonNode s) {
        if (!s.isObject()) {
            throw JsonFields.wrongType("structured_outputs", "an object", s);
        }
        Grammar grammar = null;
        List<String> kinds = new ArrayList<>();
        for (var it = s.fields(); it.hasNext(); ) {
            var e = it.next();
            String where = "structured_outputs." + e.getKey();
            if (e.getValue().isNull() || (e.getValue().isBoolean() && !e.getValue().booleanValue())) {
                continue;
            }
            switch (e.getKey()) {
                case "json", "regex", "choice" -> grammar = guarded(where, () -> kind(e.getKey(), e.getValue(),
                        where));
                case "json_object" -> grammar = JsonSchemaGrammar.anyObject();
                case "disable_any_whitespace", "disable_additional_properties", "whitespace_pattern" -> {
                    continue;
                }
                default -> throw ApiException.badRequest(where, "'" + where + "' is not supported by this server;"
                        + " use json, regex, choice or json_object");
            }
            kinds.add(e.getKey());
        }
        if (kinds.size() != 1) {
            throw ApiException.badRequest("structured_outputs", "'structured_outputs' must give exactly one of"
                    + " json, regex, choice and json_object, got " + (kinds.isEmpty() ? "none" : kinds));
        }
        return grammar;
    }

    private static Grammar kind(String kind, JsonNode v, String where) {
        return switch (kind) {
            case "json" -> JsonSchemaGrammar.compile(v.isTextual() ? parse(v.asText(), where) : v);
            case "regex" -> {
                if (!v.isTextual()) {
                    throw JsonFields.wrongType(where, "a string", v);
                }
                GrammarBuilder b = new GrammarBuilder();
                yield b.build(RegexGrammar.compile(b, v.asText(), false, "'" + where + "'"));
            }
            default -> {
                if (!v.isArray() || v.isEmpty()) {
                    throw JsonFields.wrongType(where, "a non-empty list of strings", v);
                }
                GrammarBuilder b = new GrammarBuilder();
                List<GrammarBuilder.Fragment> choices = new ArrayList<>();
                for (JsonNode c : v) {
                    if (!c.isTextual()) {
                        throw JsonFields.wrongType(where, "a non-empty list of strings", v);
                    }
                    choices.add(b.literal(c.asText()));
                }
                yield b.build(b.alt(choices));
            }
        };
    }

    private static JsonNode parse(String text, String where) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(where, "'" + where + "' is a string that is not a JSON schema: "
                    + e.getOriginalMessage());
        }
    }

    /** Compiles, turning a construct that cannot be honoured into a 400 on {@code param}. */
    private static Grammar guarded(String param, Supplier<Grammar> compile) {
        try {
            return compile.get();
        } catch (UnsupportedConstraintException | GrammarBuilder.GrammarTooLargeException e) {
            throw ApiException.badRequest(param, e.getMessage());
        }
    }
}
