package dev.afd.gateway.reasoning;

/**
 * Splits one output into reasoning and answer as it streams. The end tag may arrive split over several pieces, so a
 * tail of reasoning that could be the tag's start is held back until the next piece decides it (or
 * {@link #flush()}, when the output ends without the tag, releases it as reasoning). The tag itself goes to
 * neither part.
 *
 * <p>Not thread-safe: one per choice, used under its job's lock.
 */
public final class ReasoningStream {
    private final String endTag;
    private String held = "";
    private boolean answering;

    ReasoningStream(String endTag) {
        this.endTag = endTag;
    }

    /** The next piece of output, split; pieces of reasoning that might start the end tag are held back. */
    public ReasoningSplit feed(String piece) {
        if (answering) {
            return ReasoningSplit.of("", piece);
        }
        String text = held + piece;
        int end = text.indexOf(endTag);
        if (end >= 0) {
            answering = true;
            held = "";
            return ReasoningSplit.of(text.substring(0, end), text.substring(end + endTag.length()));
        }
        int keep = partialTagLength(text);
        held = text.substring(text.length() - keep);
        return ReasoningSplit.of(text.substring(0, text.length() - keep), "");
    }

    /** The output ended: what was held back was reasoning after all. */
    public ReasoningSplit flush() {
        String rest = held;
        held = "";
        return ReasoningSplit.of(rest, "");
    }

    /** The length of the longest end of {@code text} that is a proper start of the end tag. */
    private int partialTagLength(String text) {
        for (int n = Math.min(endTag.length() - 1, text.length()); n > 0; n--) {
            if (text.endsWith(endTag.substring(0, n))) {
                return n;
            }
        }
        return 0;
    }
}
