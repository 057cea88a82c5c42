package dev.afd.gateway.toolcalls;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits one choice's answer into content and calls as it arrives. A whole answer goes through the same splitter in
 * one piece ({@link #whole}), so a streamed choice assembles to exactly what the whole response holds.
 *
 * <p>Not thread-safe: one per choice, used under its job's lock.
 */
public interface ToolCallStream {
    /** The next piece of the answer; text that might belong to a call is held back until it is decided. */
    ToolCallUpdate feed(String piece);

    /** The answer ended: what was held back is decided. */
    ToolCallUpdate flush();

    /** Whether any call has been made so far. */
    boolean called();

    /** {@code text} split by {@code stream} (fresh) as a whole: its content and the calls assembled from pieces. */
    static ToolCallResult whole(ToolCallStream stream, String text) {
        ToolCallUpdate all = stream.feed(text).then(stream.flush());
        List<String[]> calls = new ArrayList<>();
        for (ToolCallDelta d : all.calls()) {
            if (d.index() == calls.size()) {
                calls.add(new String[] {d.id(), d.name(), d.arguments()});
            } else {
                calls.get(d.index())[2] += d.arguments();
            }
        }
        return new ToolCallResult(all.content(), calls.stream().map(c -> new ToolCall(c[0], c[1], c[2])).toList());
    }
}
