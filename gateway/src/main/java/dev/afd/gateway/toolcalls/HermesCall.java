package dev.afd.gateway.toolcalls;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The body of a hermes call: {@code {"name": "f", "arguments": {...}}}. The arguments are passed on as the model wrote
 * them, compacted (a string value is taken as the arguments' JSON text itself).
 *
 * <p>Stateless.
 */
final class HermesCall {
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private HermesCall() {}

    /** The call, or null when the body is not such an object. */
    static ToolCall parse(String body) {
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (JacksonException e) {
            return null;
        }
        if (n == null || !n.isObject() || !n.path("name").isTextual()) {
            return null;
        }
        JsonNode args = n.get("arguments");
        String arguments = args == null || args.isNull() ? "{}" : args.isTextual() ? args.asText() : args.toString();
        return new ToolCall(ToolCall.newId(), n.get("name").asText(), arguments);
    }
}
