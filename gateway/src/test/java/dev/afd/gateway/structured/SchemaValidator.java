package dev.afd.gateway.structured;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A small JSON-schema validator for the keywords structured output supports, written independently of the grammar
 * compiler so that the tests check the compiler against the schema's meaning, not against itself. Unlike the
 * compiler, it accepts object members in any order, and {@code oneOf} means exactly one.
 */
public final class SchemaValidator {
    private final JsonNode root;

    private SchemaValidator(JsonNode root) {
        this.root = root;
    }

    /** The problems found; empty when {@code value} is valid. */
    public static List<String> validate(JsonNode schema, JsonNode value) {
        List<String> problems = new ArrayList<>();
        new SchemaValidator(schema).check(schema, value, "$", problems);
        return problems;
    }

    private boolean valid(JsonNode s, JsonNode v) {
        List<String> p = new ArrayList<>();
        check(s, v, "$", p);
        return p.isEmpty();
    }

    private void check(JsonNode s, JsonNode v, String at, List<String> problems) {
        if (s.isBoolean()) {
            if (!s.booleanValue()) {
                problems.add(at + ": schema false");
            }
            return;
        }
        if (s.has("$ref")) {
            check(root.at(s.get("$ref").asText().substring(1)), v, at, problems);
        }
        if (s.has("const") && !s.get("const").equals(v)) {
            problems.add(at + ": not the const " + s.get("const"));
        }
        if (s.has("enum")) {
            boolean found = false;
            for (JsonNode e : s.get("enum")) {
                found |= e.equals(v) || (e.isNumber() && v.isNumber() && e.decimalValue().compareTo(v.decimalValue()) == 0);
            }
            if (!found) {
                problems.add(at + ": " + v + " not in enum");
            }
        }
        if (s.has("anyOf")) {
            boolean any = false;
            for (JsonNode sub : s.get("anyOf")) {
                any |= valid(sub, v);
            }
            if (!any) {
                problems.add(at + ": matches no anyOf branch");
            }
        }
        if (s.has("oneOf")) {
            int n = 0;
            for (JsonNode sub : s.get("oneOf")) {
                n += valid(sub, v) ? 1 : 0;
            }
            if (n != 1) {
                problems.add(at + ": matches " + n + " oneOf branches");
            }
        }
        if (s.has("allOf")) {
            for (JsonNode sub : s.get("allOf")) {
                check(sub, v, at, problems);
            }
        }
        if (s.has("type")) {
            boolean ok = false;
            if (s.get("type").isArray()) {
                for (JsonNode t : s.get("type")) {
                    ok |= hasType(t.asText(), v);
                }
            } else {
                ok = hasType(s.get("type").asText(), v);
            }
            if (!ok) {
                problems.add(at + ": " + v.getNodeType() + " is not of type " + s.get("type"));
                return;
            }
        }
        if (v.isObject()) {
            JsonNode props = s.path("properties");
            for (JsonNode r : s.path("required")) {
                if (!v.has(r.asText())) {
                    problems.add(at + ": missing required " + r);
                }
            }
            for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (props.has(k)) {
                    check(props.get(k), v.get(k), at + "." + k, problems);
                } else if (s.has("additionalProperties") && s.get("additionalProperties").isObject()) {
                    check(s.get("additionalProperties"), v.get(k), at + "." + k, problems);
                } else if (s.has("additionalProperties") && !s.get("additionalProperties").asBoolean(true)) {
                    problems.add(at + ": additional property " + k);
                }
            }
        }
        if (v.isArray()) {
            if (s.has("minItems") && v.size() < s.get("minItems").asInt()) {
                problems.add(at + ": fewer than minItems");
            }
            if (s.has("maxItems") && v.size() > s.get("maxItems").asInt()) {
                problems.add(at + ": more than maxItems");
            }
            if (s.has("items")) {
                for (int i = 0; i < v.size(); i++) {
                    check(s.get("items"), v.get(i), at + "[" + i + "]", problems);
                }
            }
        }
        if (v.isTextual()) {
            int length = v.asText().codePointCount(0, v.asText().length());
            if (s.has("minLength") && length < s.get("minLength").asInt()) {
                problems.add(at + ": shorter than minLength");
            }
            if (s.has("maxLength") && length > s.get("maxLength").asInt()) {
                problems.add(at + ": longer than maxLength");
            }
            if (s.has("pattern") && !Pattern.compile(s.get("pattern").asText()).matcher(v.asText()).matches()) {
                problems.add(at + ": " + v + " does not match pattern");
            }
            if (s.has("format") && !Pattern.compile(JsonSchemaGrammar.FORMATS.get(s.get("format").asText()))
                    .matcher(v.asText()).matches()) {
                problems.add(at + ": " + v + " is not a " + s.get("format"));
            }
        }
    }

    private static boolean hasType(String type, JsonNode v) {
        return switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "integer" -> v.isIntegralNumber();
            case "number" -> v.isNumber();
            case "boolean" -> v.isBoolean();
            case "null" -> v.isNull();
            default -> false;
        };
    }
}
