package dev.afd.gateway.toolcalls;

import java.util.List;

/**
 * A whole answer split into its text and its calls.
 *
 * @param content the text that is not a call, or null for none
 * @param calls the calls, in order (empty for none)
 */
public record ToolCallResult(String content, List<ToolCall> calls) {
    public ToolCallResult {
        content = content == null || content.isEmpty() ? null : content;
        calls = List.copyOf(calls);
    }
}
