package dev.afd.gateway.toolcalls;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A model's tool-call format ({@code --tool-call-parser}), for {@code tool_choice: "auto"}: the markers around its
 * calls and how one call's body reads.
 *
 * <ul>
 *   <li>{@code hermes}: {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>}, one block per call (Hermes,
 *       Qwen, the generated demo model).
 *   <li>{@code step3}: Step-3's {@code <｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke
 *       name="NAME"><steptml:parameter name="P">VALUE</steptml:parameter>...</steptml:invoke><｜tool_call_end｜>...
 *       <｜tool_calls_end｜>}; values are typed by the tool's parameter schema ({@link Step3Invoke}).
 * </ul>
 *
 * <p>Thread-safe (immutable); {@link #stream} hands out a stateful splitter per choice.
 */
public enum ToolCallParser {
    HERMES("hermes", null, "<tool_call>", "</tool_call>", null) {
        @Override
        ToolCall parseBody(String body, Map<String, Tool> tools) {
            return HermesCall.parse(body);
        }
    },
    STEP3("step3", "<｜tool_calls_begin｜>", "<｜tool_call_begin｜>", "<｜tool_call_end｜>", "<｜tool_calls_end｜>") {
        @Override
        ToolCall parseBody(String body, Map<String, Tool> tools) {
            return Step3Invoke.parse(body, tools);
        }
    };

    private final String optionName;
    /** Opens the run of calls (null: each call stands alone). */
    final String blockOpen;
    final String callOpen;
    final String callClose;
    /** Closes the run of calls (null: the calls run to the end of the output). */
    final String blockClose;

    ToolCallParser(String optionName, String blockOpen, String callOpen, String callClose, String blockClose) {
        this.optionName = optionName;
        this.blockOpen = blockOpen;
        this.callOpen = callOpen;
        this.callClose = callClose;
        this.blockClose = blockClose;
    }

    /** The name {@code --tool-call-parser} takes. */
    public String optionName() {
        return optionName;
    }

    /** The parser {@code --tool-call-parser} names. */
    public static ToolCallParser named(String name) {
        for (ToolCallParser p : values()) {
            if (p.optionName.equals(name.toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown tool-call parser '" + name + "'; supported: " + Arrays.stream(
                values()).map(ToolCallParser::optionName).collect(Collectors.joining(", ")) + " (leave the option out"
                + " for none)");
    }

    /** The call between {@link #callOpen} and {@link #callClose}, or null when it does not read as one. */
    abstract ToolCall parseBody(String body, Map<String, Tool> tools);

    /** A splitter for one answer that keeps at most {@code maxCalls} calls (later ones are dropped). */
    public ToolCallStream stream(Map<String, Tool> tools, int maxCalls) {
        return new MarkupStream(this, tools, maxCalls);
    }
}
