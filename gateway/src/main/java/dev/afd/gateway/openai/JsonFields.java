package dev.afd.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Typed, validating reads of a JSON request body's top-level fields. A field of the wrong type is a 400 that names it;
 * JSON {@code null} reads as absent, as OpenAI clients send it for "not set". Remembers which fields were read, so the
 * rest can be reported as unknown.
 *
 * <p>Not thread-safe: one request, one thread.
 */
public final class JsonFields {
    private final ObjectNode body;
    private final Set<String> read = new HashSet<>();

    public JsonFields(ObjectNode body) {
        this.body = body;
    }

    /** The field's value, or null when absent or JSON null; marks it read. */
    public JsonNode raw(String name) {
        read.add(name);
        JsonNode n = body.get(name);
        return n == null || n.isNull() ? null : n;
    }

    public String string(String name) {
        JsonNode n = raw(name);
        if (n == null) {
            return null;
        }
        if (!n.isTextual()) {
            throw wrongType(name, "a string", n);
        }
        return n.asText();
    }

    public Boolean bool(String name) {
        JsonNode n = raw(name);
        if (n == null) {
            return null;
        }
        if (!n.isBoolean()) {
            throw wrongType(name, "a boolean", n);
        }
        return n.booleanValue();
    }

    public Double number(String name) {
        JsonNode n = raw(name);
        if (n == null) {
            return null;
        }
        if (!n.isNumber()) {
            throw wrongType(name, "a number", n);
        }
        return n.doubleValue();
    }

    public Integer int32(String name) {
        Long v = int64(name);
        if (v == null) {
            return null;
        }
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw ApiException.badRequest(name, "'" + name + "' is out of range: " + v);
        }
        return v.intValue();
    }

    public Long int64(String name) {
        JsonNode n = raw(name);
        if (n == null) {
            return null;
        }
        return integer(name, n);
    }

    /** An integer-valued number ({@code 3} or {@code 3.0}) that fits in 64 bits. */
    static long integer(String name, JsonNode n) {
        if (!n.isNumber()) {
            throw wrongType(name, "an integer", n);
        }
        if (n.isIntegralNumber()) {
            if (!n.canConvertToLong()) {
                throw ApiException.badRequest(name, "'" + name + "' is out of the 64-bit integer range: " + n);
            }
            return n.longValue();
        }
        double d = n.doubleValue();
        if (d != Math.rint(d) || Math.abs(d) > 9.007199254740992E15) {
            throw wrongType(name, "an integer", n);
        }
        return (long) d;
    }

    /** Fields present in the body that no read asked for. */
    public List<String> unread() {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!read.contains(f)) {
                out.add(f);
            }
        }
        return out;
    }

    public static ApiException wrongType(String name, String expected, JsonNode got) {
        return ApiException.badRequest(name, "'" + name + "' must be " + expected + ", got " + describe(got));
    }

    private static String describe(JsonNode n) {
        String text = n.toString();
        String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
        return switch (n.getNodeType()) {
            case STRING -> "a string (" + shown + ")";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case BOOLEAN -> "a boolean (" + shown + ")";
            case NUMBER -> "a number (" + shown + ")";
            default -> shown;
        };
    }
}
