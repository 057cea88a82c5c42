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
    /** Where the open call's closing marker is still to be looked for (0: from its body's start). */
    private int closeSearchedTo;

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

    /**
     * Among the calls: the next call, block end or stray text. Returns whether to go on. Works on the held text in
     * place and remembers how far a call's closing marker was looked for, so a long call costs linear time however
     * finely it streams.
     */
    private boolean calls(boolean ended, StringBuilder content, List<ToolCallDelta> deltas) {
        int at = 0;
        while (at < held.length() && Character.isWhitespace(held.charAt(at))) {
            at++;
        }
        if (at == held.length()) {
            if (ended) {
                held.setLength(0);
            }
            return false;
        }
        if (startsAt(at, format.callOpen)) {
            int body = at + format.callOpen.length();
            int close = held.indexOf(format.callClose, Math.max(body, closeSearchedTo));
            if (close < 0 && !ended) {
                closeSearchedTo = Math.max(body, held.length() - format.callClose.length() + 1);
                return false;
            }
            closeSearchedTo = 0;
            int end = close < 0 ? held.length() : close + format.callClose.length();
            ToolCall call = format.parseBody(held.substring(body, close < 0 ? held.length() : close), tools);
            if (call == null) {
                content.append(held, at, end);
            } else if (calls < maxCalls) {
                deltas.add(new ToolCallDelta(calls++, call.id(), call.name(), call.arguments()));
            }
            // A call past maxCalls (parallel_tool_calls false) is dropped, as OpenAI returns at most one.
            held.delete(0, end);
            return true;
        }
        if (format.blockClose != null && startsAt(at, format.blockClose)) {
            held.delete(0, at + format.blockClose.length());
            inCalls = false;
            return true;
        }
        if (!ended && (startOf(at, format.callOpen) || (format.blockClose != null
                && startOf(at, format.blockClose)))) {
            return false;
        }
        // Text among the calls that is no call: content, up to the next marker (or a tail that may start one).
        int next = nextMarker(at + 1);
        int end;
        if (next > 0) {
            end = next;
        } else {
            end = held.length() - (ended ? 0 : Math.max(partialEnd(held, format.callOpen),
                    format.blockClose == null ? 0 : partialEnd(held, format.blockClose)));
        }
        // Whitespace at its end waits: before a marker it is dropped like any whitespace between calls.
        while (end > at && Character.isWhitespace(held.charAt(end - 1))) {
            end--;
        }
        content.append(held, 0, end);
        held.delete(0, end);
        return end > at;
    }

    /** Whether the held text has {@code marker} at {@code at}. */
    private boolean startsAt(int at, String marker) {
        return held.length() - at >= marker.length() && held.substring(at, at + marker.length()).equals(marker);
    }

    /** Whether the held text from {@code at} on is a proper start of {@code marker}. */
    private boolean startOf(int at, String marker) {
        return held.length() - at < marker.length() && marker.startsWith(held.substring(at));
    }

    /** Where the first marker at or after {@code from} begins, or -1. */
    private int nextMarker(int from) {
        int call = held.indexOf(format.callOpen, from);
        int block = format.blockClose == null ? -1 : held.indexOf(format.blockClose, from);
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
