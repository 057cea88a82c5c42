package dev.afd.gateway.lifecycle;

import dev.afd.gateway.toolcalls.ToolCallDelta;
import java.util.List;

/**
 * What one piece of a streamed choice's output sends: reasoning, text and pieces of tool calls, each only where the
 * request splits its answer that way.
 *
 * @param reasoning the next piece of reasoning, or null for none
 * @param content the next piece of text (content), or null for none
 * @param toolCalls pieces of tool calls, in order
 */
record StreamPiece(String reasoning, String content, List<ToolCallDelta> toolCalls) {
    StreamPiece {
        toolCalls = List.copyOf(toolCalls);
    }

    boolean isEmpty() {
        return reasoning == null && content == null && toolCalls.isEmpty();
    }
}
