package dev.afd.gateway.toolcalls;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code tool_choice: "required"}: the output, constrained to a JSON array of {@code {"name": ..., "parameters":
 * ...}} objects, is held until it ends and then sent as calls, one per element. An output that does not read as such
 * an array (cut off by {@code max_tokens} before the grammar could close it) is content.
 *
 * <p>Not thread-safe: one per choice, used under its job's lock.
 */
final class RequiredStream implements ToolCallStream {
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final StringBuilder held = new StringBuilder();
    private boolean called;

    @Override
    public ToolCallUpdate feed(String piece) {
        held.append(piece);
        return ToolCallUpdate.EMPTY;
    }

    @Override
    public ToolCallUpdate flush() {
        String text = held.toString();
        held.setLength(0);
        List<ToolCallDelta> calls = calls(text);
        called = calls != null && !calls.isEmpty();
        return called ? new ToolCallUpdate(null, calls) : new ToolCallUpdate(text, List.of());
    }

    @Override
    public boolean called() {
        return called;
    }

    private static List<ToolCallDelta> calls(String text) {
        JsonNode array;
        try {
            array = JSON.readTree(text);
        } catch (JacksonException e) {
            return null;
        }
        if (array == null || !array.isArray()) {
            return null;
        }
        List<ToolCallDelta> calls = new ArrayList<>();
        for (JsonNode call : array) {
            if (!call.path("name").isTextual() || !call.has("parameters")) {
                return null;
            }
            calls.add(new ToolCallDelta(calls.size(), ToolCall.newId(), call.get("name").asText(),
                    call.get("parameters").toString()));
        }
        return calls;
    }
}
