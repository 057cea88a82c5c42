package dev.afd.gateway.toolcalls;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The body of a Step-3 call: {@code function<｜tool_sep｜><steptml:invoke name="NAME"><steptml:parameter
 * name="P">VALUE</steptml:parameter>...</steptml:invoke>}. Values are text; as vLLM's {@code step3} parser does, each
 * is trimmed and typed by the property's {@code type} in the tool's parameter schema: {@code integer},
 * {@code number}, {@code boolean} and {@code null} become JSON values when they read as one, and so do
 * {@code object} and {@code array} (which vLLM leaves as strings); anything else stays a string.
 *
 * <p>Stateless.
 */
final class Step3Invoke {
    static final String SEPARATOR = "<｜tool_sep｜>";
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Pattern INVOKE = Pattern.compile("<steptml:invoke name=\"([^\"]+)\">");
    private static final Pattern PARAMETER = Pattern.compile(
            "<steptml:parameter name=\"([^\"]+)\">(.*?)</steptml:parameter>", Pattern.DOTALL);

    private Step3Invoke() {}

    /** The call, or null when the body is not a function invocation. */
    static ToolCall parse(String body, Map<String, Tool> tools) {
        int sep = body.indexOf(SEPARATOR);
        if (sep < 0 || !body.substring(0, sep).strip().equals("function")) {
            return null;
        }
        String invoke = body.substring(sep + SEPARATOR.length());
        Matcher name = INVOKE.matcher(invoke);
        if (!name.find()) {
            return null;
        }
        Tool tool = tools.get(name.group(1));
        JsonNode properties = tool == null ? JSON.missingNode() : tool.parameters().path("properties");
        ObjectNode arguments = JSON.createObjectNode();
        Matcher p = PARAMETER.matcher(invoke);
        while (p.find()) {
            String key = p.group(1);
            arguments.set(key, typed(p.group(2).strip(), properties.path(key).path("type").asText("")));
        }
        return new ToolCall(ToolCall.newId(), name.group(1), arguments.toString());
    }

    private static JsonNode typed(String value, String type) {
        JsonNode parsed = switch (type) {
            case "integer" -> parse(value, JsonNode::isIntegralNumber);
            case "number" -> parse(value, JsonNode::isNumber);
            case "boolean" -> value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false")
                    ? JSON.getNodeFactory().booleanNode(value.equalsIgnoreCase("true")) : null;
            case "null" -> value.equalsIgnoreCase("null") ? JSON.getNodeFactory().nullNode() : null;
            case "object" -> parse(value, JsonNode::isObject);
            case "array" -> parse(value, JsonNode::isArray);
            default -> null;
        };
        return parsed != null ? parsed : JSON.getNodeFactory().textNode(value);
    }

    private static JsonNode parse(String value, java.util.function.Predicate<JsonNode> wanted) {
        try {
            JsonNode n = JSON.readTree(value);
            return n != null && wanted.test(n) ? n : null;
        } catch (JacksonException e) {
            return null;
        }
    }
}
