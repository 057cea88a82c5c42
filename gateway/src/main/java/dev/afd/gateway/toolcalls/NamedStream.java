package dev.afd.gateway.toolcalls;

import java.util.List;

/**
 * {@code tool_choice} naming a function: the output, constrained by the function's parameter schema, is the
 * arguments of one call to it. It streams as it comes: the first piece opens the call, later pieces extend its
 * arguments.
 *
 * <p>Not thread-safe: one per choice, used under its job's lock.
 */
final class NamedStream implements ToolCallStream {
    private final String name;
    private String id;

    NamedStream(String name) {
        this.name = name;
    }

    @Override
    public ToolCallUpdate feed(String piece) {
        if (piece.isEmpty()) {
            return ToolCallUpdate.EMPTY;
        }
        return new ToolCallUpdate(null, List.of(next(piece)));
    }

    @Override
    public ToolCallUpdate flush() {
        // An empty output is still the call the request forced, with empty arguments.
        return id != null ? ToolCallUpdate.EMPTY : new ToolCallUpdate(null, List.of(next("")));
    }

    @Override
    public boolean called() {
        return true;
    }

    private ToolCallDelta next(String arguments) {
        if (id != null) {
            return new ToolCallDelta(0, null, null, arguments);
        }
        id = ToolCall.newId();
        return new ToolCallDelta(0, id, name, arguments);
    }
}
