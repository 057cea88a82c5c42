package dev.afd.gateway.tokenizer;

import java.util.List;

/**
 * Finds stop strings in text that arrives in pieces, across piece (token) boundaries. Text is released only once it
 * can no longer be the start of a stop string; anything after the first match is never released, and the stop string
 * itself only when the matcher keeps matches (vLLM's {@code include_stop_str_in_output}).
 *
 * <p>Why release is safe: text is held from the first position whose remainder is a prefix of some stop string, so
 * every later match starts at or after the held text, never inside text already released.
 *
 * <p>Not thread-safe: one sequence, one thread at a time.
 */
public final class StopMatcher {
    private final List<String> stops;
    private final boolean keepMatch;
    private final int longest;
    private final StringBuilder held = new StringBuilder();
    private String matched;

    /** @param keepMatch release the matched stop string too, at the end of the text */
    public StopMatcher(List<String> stops, boolean keepMatch) {
        this.stops = List.copyOf(stops);
        this.keepMatch = keepMatch;
        this.longest = this.stops.stream().mapToInt(String::length).max().orElse(0);
    }

    /** Adds decoded text; returns what may be sent now. After a match returns the text before it and then "". */
    public String feed(String text) {
        if (matched != null) {
            return "";
        }
        if (stops.isEmpty()) {
            return text;
        }
        held.append(text);
        int first = -1;
        for (String s : stops) {
            int at = held.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
                matched = s;
            }
        }
        if (first >= 0) {
            String out = held.substring(0, keepMatch ? first + matched.length() : first);
            held.setLength(0);
            return out;
        }
        int keep = firstPossibleStart();
        String out = held.substring(0, keep);
        held.delete(0, keep);
        return out;
    }

    /** The text still held when the sequence ends without a match. */
    public String flush() {
        String out = held.toString();
        held.setLength(0);
        return out;
    }

    /** Whether the matched stop string is released (and a stop token's text kept). */
    public boolean keepsMatch() {
        return keepMatch;
    }

    /** The stop string found, or null. */
    public String matched() {
        return matched;
    }

    /** The first position in {@code held} from which the rest could still grow into a stop string. */
    private int firstPossibleStart() {
        String text = held.toString();
        int n = text.length();
        for (int p = Math.max(0, n - longest + 1); p < n; p++) {
            int rest = n - p;
            for (String s : stops) {
                if (rest < s.length() && s.regionMatches(0, text, p, rest)) {
                    return Character.isLowSurrogate(text.charAt(p)) && p > 0 ? p - 1 : p;
                }
            }
        }
        return n;
    }
}
