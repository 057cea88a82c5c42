package dev.afd.gateway.toolcalls;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code tool_choice: "auto"}: the model writes freely and its calls are picked out of the text by their markers.
 * Text before the first call is content and streams as it comes, except a tail that could be the start of the
 * opening marker, which is held until the next piece decides it. Once calls have begun, each call is sent whole when
 * its closing marker arrives (an unclosed last call is read at the end); whitespace between calls and at the end is
 * dropped, and any other text there, or a block that does not read as a call, is content. These rules look only at
 * the text, never at where it was cut, so a streamed answer assembles to exactly the whole one. For {@code step3},
 * text after {@code <｜tool_calls_end｜>} is content again, as in vLLM's streaming parser.
 *
 * <p>Not thread-safe: one per choice, used under its job's lock.
 */
final class MarkupStream implements ToolCallStream {
    private final ToolCallParser format;
    private final Map<String, Tool> tools;
    private final int maxCalls;
    private final String opener;
    private final StringBuilder held = new StringBuilder();
    private boolean inCalls;
    private int calls;

    MarkupStream(ToolCallParser format, Map<String, Tool> tools, int maxCalls) {
        this.format = format;
        this.tools = tools;
        this.maxCalls = maxCalls;
        this.opener = format.blockOpen != null ? format.blockOpen : format.callOpen;
    }

    @Override
    public ToolCallUpdate feed(String piece) {
        held.append(piece);
        return drain(false);
    }

    @Override
    public ToolCallUpdate flush() {
        return drain(true);
    }

    @Override
    public boolean called() {
        return calls > 0;
    }

    /** Decides as much of the held text as it can; at the end, all of it. */
    private ToolCallUpdate drain(boolean ended) {
        StringBuilder content = new StringBuilder();
        List<ToolCallDelta> deltas = new ArrayList<>();
        while (held.length() > 0 && (inCalls ? calls(ended, content, deltas) : text(ended, content))) {
            // Each step consumed some held text; go on while there is more to decide.
        }
        return new ToolCallUpdate(content.toString(), deltas);
    }

    /** Before the calls: content up to the opening marker. Returns whether to go on. */
    private boolean text(boolean ended, StringBuilder content) {
        int at = held.indexOf(opener);
        if (at < 0) {
            int keep = ended ? 0 : partialEnd(held, opener);
            content.append(held, 0, held.length() - keep);
            held.delete(0, held.length() - keep);
            return false;
        }
        content.append(held, 0, at);
        held.delete(0, format.blockOpen != null ? at + opener.length() : at);
        inCalls = true;
        return true;
    }

    /** Among the calls: the next call, block end or stray text. Returns whether to go on. */
    private boolean calls(boolean ended, StringBuilder content, List<ToolCallDelta> deltas) {
        int ws = 0;
        while (ws < held.length() && Character.isWhitespace(held.charAt(ws))) {
            ws++;
        }
        String rest = held.substring(ws);
        if (rest.isEmpty()) {
            if (ended) {
                held.setLength(0);
            }
            return false;
        }
        if (rest.startsWith(format.callOpen)) {
            int close = rest.indexOf(format.callClose, format.callOpen.length());
            if (close < 0 && !ended) {
                return false;
            }
            int end = close < 0 ? rest.length() : close + format.callClose.length();
            ToolCall call = format.parseBody(rest.substring(format.callOpen.length(), close < 0 ? rest.length()
                    : close), tools);
            if (call == null) {
                content.append(rest, 0, end);
            } else if (calls < maxCalls) {
                deltas.add(new ToolCallDelta(calls++, call.id(), call.name(), call.arguments()));
            }
            // A call past maxCalls (parallel_tool_calls false) is dropped, as OpenAI returns at most one.
            held.delete(0, ws + end);
            return true;
        }
        if (format.blockClose != null && rest.startsWith(format.blockClose)) {
            held.delete(0, ws + format.blockClose.length());
            inCalls = false;
            return true;
        }
        if (!ended && (format.callOpen.startsWith(rest) || (format.blockClose != null
                && format.blockClose.startsWith(rest)))) {
            return false;
        }
        // Text among the calls that is no call: content, up to the next marker (or a tail that may start one).
        int next = nextMarker(rest);
        int take;
        if (next > 0) {
            take = next;
        } else {
            take = rest.length() - (ended ? 0 : Math.max(partialEnd(rest, format.callOpen),
                    format.blockClose == null ? 0 : partialEnd(rest, format.blockClose)));
        }
        // Whitespace at its end waits: before a marker it is dropped like any whitespace between calls.
        while (take > 0 && Character.isWhitespace(rest.charAt(take - 1))) {
            take--;
        }
        content.append(held, 0, ws + take);
        held.delete(0, ws + take);
        return take > 0;
    }

    /** Where the first marker after the start of {@code s} begins, or -1. */
    private int nextMarker(String s) {
        int call = s.indexOf(format.callOpen, 1);
        int block = format.blockClose == null ? -1 : s.indexOf(format.blockClose, 1);
        return call < 0 ? block : block < 0 ? call : Math.min(call, block);
    }

    /** The length of the longest end of {@code text} that is a proper start of {@code marker}. */
    private static int partialEnd(CharSequence text, String marker) {
        for (int n = Math.min(marker.length() - 1, text.length()); n > 0; n--) {
            if (text.subSequence(text.length() - n, text.length()).toString().equals(marker.substring(0, n))) {
                return n;
            }
        }
        return 0;
    }
}
