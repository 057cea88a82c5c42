package dev.afd.gateway.toolcalls;

import java.util.List;

/**
 * What a piece of a streamed answer turned into: text for {@code delta.content} and pieces of calls.
 *
 * @param content the next piece of content, or null for none
 * @param calls pieces of calls, in order
 */
public record ToolCallUpdate(String content, List<ToolCallDelta> calls) {
    static final ToolCallUpdate EMPTY = new ToolCallUpdate(null, List.of());

    public ToolCallUpdate {
        content = content == null || content.isEmpty() ? null : content;
        calls = List.copyOf(calls);
    }

    public boolean isEmpty() {
        return content == null && calls.isEmpty();
    }
}
