package dev.afd.gateway.structured;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.grammar.Grammar;
import dev.afd.model.grammar.GrammarBuilder;
import dev.afd.model.grammar.GrammarBuilder.Fragment;
import dev.afd.model.grammar.GrammarBuilder.Rule;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Compiles a JSON schema into a grammar whose sentences are the JSON texts the schema accepts. Supported: {@code type}
 * (one or a list), objects ({@code properties}, {@code required}, {@code additionalProperties}), arrays
 * ({@code items}, {@code minItems}, {@code maxItems}), strings ({@code minLength}, {@code maxLength},
 * {@code pattern}, the {@code format}s in {@link #FORMATS}), numbers, integers, booleans, null, {@code enum},
 * {@code const}, {@code anyOf} (and {@code oneOf}, read as {@code anyOf}), a one-schema {@code allOf}, and
 * {@code $ref} into the same document ({@code $defs}, {@code definitions}, {@code #}).
 *
 * <p>As xgrammar does by default, properties come in the schema's order, and an object without
 * {@code additionalProperties} has no other keys. Every other keyword that constrains values is refused with its
 * name and place; annotations ({@code title}, {@code description}, ...) are ignored.
 *
 * <p>Not thread-safe: one compile, one thread.
 */
public final class JsonSchemaGrammar {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Keywords that describe and never constrain. */
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema",
            "$id", "$comment", "readOnly", "writeOnly", "deprecated", "$defs", "definitions", "strict", "name");
    /** String formats, as the regular expressions the texts must match. */
    static final Map<String, String> FORMATS = Map.of(
            "date", "\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])",
            "time", "([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,6})?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)",
            "date-time", "\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d"
                    + "(\\.\\d{1,6})?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)",
            "uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "ipv4", "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)",
            "email", "[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63}){1,8}");
    /** Most whitespace between tokens of the JSON text: room for indentation, not for endless blanks. */
    static final int MAX_WHITESPACE = 24;

    private final GrammarBuilder b;
    private final JsonNode root;
    private final Map<String, Rule> refs = new HashMap<>();
    private Rule whitespace;
    private Rule character;
    private Rule anyValue;

    private JsonSchemaGrammar(GrammarBuilder b, JsonNode root) {
        this.b = b;
        this.root = root;
    }

    /**
     * The grammar of JSON texts that {@code schema} accepts.
     *
     * @throws UnsupportedConstraintException naming the keyword and its place when the schema cannot be honoured
     */
    public static Grammar compile(JsonNode schema) {
        GrammarBuilder b = new GrammarBuilder();
        return b.build(fragment(b, schema));
    }

    /**
     * The JSON texts {@code schema} accepts, as a fragment of a larger grammar being built in {@code b}; its
     * {@code $ref}s resolve against {@code schema} itself.
     *
     * @throws UnsupportedConstraintException naming the keyword and its place when the schema cannot be honoured
     */
    static Fragment fragment(GrammarBuilder b, JsonNode schema) {
        return new JsonSchemaGrammar(b, schema).schema(schema, "#");
    }

    /** Any JSON object: OpenAI's {@code json_object} format. */
    public static Grammar anyObject() {
        GrammarBuilder b = new GrammarBuilder();
        return b.build(new JsonSchemaGrammar(b, JSON.createObjectNode()).object(null, "#"));
    }

    private Fragment schema(JsonNode s, String at) {
        if (s.isBoolean()) {
            if (!s.booleanValue()) {
                throw unsupported(at, "the schema false (it accepts nothing)");
            }
            return b.call(anyValue());
        }
        if (!s.isObject()) {
            throw unsupported(at, "a schema that is not an object or a boolean");
        }
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!ANNOTATIONS.contains(k) && !handled(k)) {
                throw unsupported(at, "the keyword '" + k + "'");
            }
        }
        if (s.has("$ref")) {
            return b.call(ref(s.get("$ref").asText(), at));
        }
        if (s.has("const")) {
            return b.literal(compact(s.get("const")));
        }
        if (s.has("enum")) {
            List<Fragment> choices = new ArrayList<>();
            for (JsonNode v : s.get("enum")) {
                choices.add(b.literal(compact(v)));
            }
            if (choices.isEmpty()) {
                throw unsupported(at, "an empty 'enum' (it accepts nothing)");
            }
            return b.alt(choices);
        }
        for (String k : List.of("anyOf", "oneOf")) {
            if (s.has(k)) {
                List<Fragment> choices = new ArrayList<>();
                for (int i = 0; i < s.get(k).size(); i++) {
                    choices.add(schema(s.get(k).get(i), at + "/" + k + "/" + i));
                }
                return b.alt(choices);
            }
        }
        if (s.has("allOf")) {
            if (s.get("allOf").size() != 1) {
                throw unsupported(at, "'allOf' with more than one schema");
            }
            return schema(s.get("allOf").get(0), at + "/allOf/0");
        }
        JsonNode type = s.get("type");
        if (type == null) {
            if (s.has("properties") || s.has("additionalProperties") || s.has("required")) {
                return object(s, at);
            }
            if (s.has("items")) {
                return array(s, at);
            }
            return b.call(anyValue());
        }
        if (type.isArray()) {
            List<Fragment> choices = new ArrayList<>();
            for (JsonNode t : type) {
                choices.add(typed(t.asText(), s, at));
            }
            return b.alt(choices);
        }
        return typed(type.asText(), s, at);
    }

    private static boolean handled(String keyword) {
        return switch (keyword) {
            case "type", "$ref", "const", "enum", "anyOf", "oneOf", "allOf", "properties", "required",
                 "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength", "pattern",
                 "format" -> true;
            default -> false;
        };
    }

    private Fragment typed(String type, JsonNode s, String at) {
        return switch (type) {
            case "object" -> object(s, at);
            case "array" -> array(s, at);
            case "string" -> string(s, at);
            case "integer" -> integer();
            case "number" -> number();
            case "boolean" -> b.alt(List.of(b.literal("true"), b.literal("false")));
            case "null" -> b.literal("null");
            default -> throw unsupported(at, "the type '" + type + "'");
        };
    }

    private Rule ref(String ref, String at) {
        Rule r = refs.get(ref);
        if (r != null) {
            return r;
        }
        if (!ref.startsWith("#")) {
            throw unsupported(at, "the $ref '" + ref + "' (only references into the same schema, '#...')");
        }
        JsonNode target = root.at(ref.substring(1));
        if (target.isMissingNode()) {
            throw unsupported(at, "the $ref '" + ref + "', which points at nothing in the schema");
        }
        r = b.rule();
        refs.put(ref, r);
        b.define(r, schema(target, ref));
        return r;
    }

    /** {@code s} null: any keys with any values. */
    private Fragment object(JsonNode s, String at) {
        Map<String, JsonNode> properties = new LinkedHashMap<>();
        if (s != null && s.has("properties")) {
            s.get("properties").fields().forEachRemaining(e -> properties.put(e.getKey(), e.getValue()));
        }
        List<String> required = new ArrayList<>();
        if (s != null && s.has("required")) {
            s.get("required").forEach(r -> required.add(r.asText()));
        }
        for (String r : required) {
            if (!properties.containsKey(r)) {
                throw unsupported(at, "'required' property '" + r + "' that 'properties' does not define");
            }
        }
        JsonNode additional = s == null ? JSON.getNodeFactory().booleanNode(true) : s.get("additionalProperties");
        boolean open = additional != null && !(additional.isBoolean() && !additional.booleanValue());
        // Two chains of junctions: "nothing written yet" (no comma before the next member) and "something written".
        Fragment none = b.empty();
        Fragment some = b.empty();
        Fragment first = none;
        for (Map.Entry<String, JsonNode> p : properties.entrySet()) {
            Rule member = b.rule();
            b.define(member, b.seq(b.literal(compact(JSON.getNodeFactory().textNode(p.getKey()))), ws(),
                    b.literal(":"), ws(), schema(p.getValue(), at + "/properties/" + p.getKey())));
            Fragment nextNone = b.empty();
            Fragment nextSome = b.empty();
            b.seq(none, b.call(member), nextSome);
            b.seq(some, comma(), b.call(member), nextSome);
            if (!required.contains(p.getKey())) {
                b.seq(none, nextNone);
                b.seq(some, nextSome);
            }
            none = nextNone;
            some = nextSome;
        }
        if (open) {
            Rule pair = b.rule();
            b.define(pair, b.seq(string(null, at), ws(), b.literal(":"), ws(),
                    additional.isObject() ? schema(additional, at + "/additionalProperties") : b.call(anyValue())));
            b.seq(none, b.call(pair), some);
            Fragment end = b.empty();
            b.seq(some, b.repeat(() -> b.seq(comma(), b.call(pair)), 0, -1), end);
            some = end;
        }
        Fragment opening = b.seq(b.literal("{"), ws());
        Fragment closing = b.seq(ws(), b.literal("}"));
        b.seq(opening, first);
        // The "nothing written" chain only gets to its end when every property is optional.
        b.seq(none, closing);
        b.seq(some, closing);
        return new Fragment(opening.in(), closing.out());
    }

    private Fragment comma() {
        return b.seq(ws(), b.literal(","), ws());
    }

    private Fragment array(JsonNode s, String at) {
        int min = s.path("minItems").asInt(0);
        int max = s.has("maxItems") ? s.get("maxItems").asInt() : -1;
        if (min < 0 || (max >= 0 && max < min) || Math.max(min, max) > RegexGrammar.MAX_COUNT) {
            throw unsupported(at, "minItems " + min + " / maxItems " + max + " (need 0 <= minItems <= maxItems <= "
                    + RegexGrammar.MAX_COUNT + ")");
        }
        Rule item = b.rule();
        b.define(item, s.has("items") ? schema(s.get("items"), at + "/items") : b.call(anyValue()));
        Fragment items;
        if (max == 0) {
            items = b.empty();
        } else {
            Fragment some = b.seq(b.call(item), b.repeat(() -> b.seq(comma(), b.call(item)),
                    Math.max(0, min - 1), max < 0 ? -1 : max - 1));
            items = min == 0 ? b.optional(some) : some;
        }
        return b.seq(b.literal("["), ws(), items, ws(), b.literal("]"));
    }

    /** {@code s} null: any string. */
    private Fragment string(JsonNode s, String at) {
        if (s != null && s.has("pattern")) {
            if (s.has("minLength") || s.has("maxLength") || s.has("format")) {
                throw unsupported(at, "'pattern' together with 'minLength', 'maxLength' or 'format'");
            }
            return b.seq(b.literal("\""), RegexGrammar.compile(b, s.get("pattern").asText(), true,
                    at + "/pattern"), b.literal("\""));
        }
        if (s != null && s.has("format")) {
            String format = s.get("format").asText();
            String regex = FORMATS.get(format);
            if (regex == null) {
                throw unsupported(at, "the string format '" + format + "' (supported: " + String.join(", ",
                        new TreeSet<>(FORMATS.keySet())) + ")");
            }
            if (s.has("minLength") || s.has("maxLength")) {
                throw unsupported(at, "'format' together with 'minLength' or 'maxLength'");
            }
            return b.seq(b.literal("\""), RegexGrammar.compile(b, regex, true, at + "/format"), b.literal("\""));
        }
        int min = s == null ? 0 : s.path("minLength").asInt(0);
        int max = s == null || !s.has("maxLength") ? -1 : s.get("maxLength").asInt();
        if (min < 0 || (max >= 0 && max < min) || Math.max(min, max) > RegexGrammar.MAX_COUNT) {
            throw unsupported(at, "minLength " + min + " / maxLength " + max + " (need 0 <= minLength <= maxLength"
                    + " <= " + RegexGrammar.MAX_COUNT + ")");
        }
        Rule c = character();
        return b.seq(b.literal("\""), b.repeat(() -> b.call(c), min, max), b.literal("\""));
    }

    /** One character of a JSON string: unescaped (not a quote, backslash or control character) or an escape. */
    private Rule character() {
        if (character == null) {
            character = b.rule();
            Fragment plain = b.alt(List.of(b.byteSet(0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F), Utf8Chars.nonAscii(b)));
            Fragment escaped = b.seq(b.literal("\\"), b.alt(List.of(b.byteSet('"', '"', '\\', '\\', '/', '/', 'b', 'b',
                    'f', 'f', 'n', 'n', 'r', 'r', 't', 't'), b.seq(b.literal("u"), b.repeat(this::hexDigit, 4, 4)))));
            b.define(character, b.alt(List.of(plain, escaped)));
        }
        return character;
    }

    private Fragment hexDigit() {
        return b.byteSet('0', '9', 'a', 'f', 'A', 'F');
    }

    private Fragment digits(int min) {
        return b.repeat(() -> b.bytes('0', '9'), min, -1);
    }

    private Fragment integer() {
        return b.seq(b.optional(b.literal("-")), b.alt(List.of(b.literal("0"), b.seq(b.bytes('1', '9'),
                digits(0)))));
    }

    private Fragment number() {
        return b.seq(integer(), b.optional(b.seq(b.literal("."), digits(1))), b.optional(b.seq(
                b.byteSet('e', 'e', 'E', 'E'), b.optional(b.byteSet('+', '+', '-', '-')), digits(1))));
    }

    private Fragment ws() {
        if (whitespace == null) {
            whitespace = b.rule();
            b.define(whitespace, b.repeat(() -> b.byteSet(' ', ' ', '\n', '\n', '\t', '\t', '\r', '\r'), 0,
                    MAX_WHITESPACE));
        }
        return b.call(whitespace);
    }

    /** Any JSON value. */
    private Rule anyValue() {
        if (anyValue == null) {
            anyValue = b.rule();
            Rule item = anyValue;
            Fragment array = b.seq(b.literal("["), ws(), b.optional(b.seq(b.call(item), b.repeat(() -> b.seq(comma(),
                    b.call(item)), 0, -1))), ws(), b.literal("]"));
            b.define(anyValue, b.alt(List.of(object(null, "#"), array, string(null, "#"), number(),
                    b.literal("true"), b.literal("false"), b.literal("null"))));
        }
        return anyValue;
    }

    private static String compact(JsonNode v) {
        try {
            return JSON.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static UnsupportedConstraintException unsupported(String at, String what) {
        return new UnsupportedConstraintException("structured output cannot honour " + what + " at " + at
                + " of the JSON schema; remove it or express it with the supported keywords");
    }
}
