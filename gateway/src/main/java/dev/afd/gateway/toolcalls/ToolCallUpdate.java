package dev.afd.gateway.toolcalls;

import java.util.ArrayList;
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

    /** This update followed by {@code next}, as one. */
    public ToolCallUpdate then(ToolCallUpdate next) {
        List<ToolCallDelta> both = new ArrayList<>(calls);
        both.addAll(next.calls);
        return new ToolCallUpdate((content == null ? "" : content) + (next.content == null ? "" : next.content),
                both);
    }

    public boolean isEmpty() {
        return content == null && calls.isEmpty();
    }
}
