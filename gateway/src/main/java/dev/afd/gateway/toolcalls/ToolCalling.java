package dev.afd.gateway.toolcalls;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How one request's chat answers become calls: by parsing free text ({@code auto}, with the server's parser) or by
 * reading the constrained output ({@code required}, a named function).
 *
 * <p>Thread-safe (immutable); {@link #stream()} hands out a stateful splitter per choice.
 */
public final class ToolCalling {
    private final ToolsRequest request;
    private final ToolCallParser parser;
    private final Map<String, Tool> tools = new LinkedHashMap<>();

    ToolCalling(ToolsRequest request, ToolCallParser parser) {
        this.request = request;
        this.parser = parser;
        request.tools().forEach(t -> tools.put(t.name(), t));
    }

    /** A splitter for one choice's answer. */
    public ToolCallStream stream() {
        return switch (request.choice().mode()) {
            case AUTO -> parser.stream(tools, request.parallel() ? Integer.MAX_VALUE : 1);
            case REQUIRED -> new RequiredStream();
            case NAMED -> new NamedStream(request.choice().function());
            case NONE -> throw new IllegalStateException("tool_choice none parses no calls");
        };
    }

    /**
     * Whether special tokens must stay in the text: a parser's markers may be special tokens (Step-3's are), so, as
     * vLLM does, {@code auto} keeps them for the parser to see.
     */
    public boolean keepsSpecialTokens() {
        return request.choice().mode() == ToolChoice.Mode.AUTO;
    }

    /**
     * The finish reason OpenAI gives: {@code tool_calls} when {@code auto} or {@code required} made calls; a named
     * function's call keeps the node's reason ({@code stop}), as OpenAI's does.
     */
    public String finishReason(String nodeReason, boolean called) {
        boolean parsed = request.choice().mode() == ToolChoice.Mode.AUTO
                || request.choice().mode() == ToolChoice.Mode.REQUIRED;
        return parsed && called ? "tool_calls" : nodeReason;
    }
}
