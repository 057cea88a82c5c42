package dev.afd.gateway.tokenizer;

import java.util.List;

/**
 * Finds stop strings in text that arrives in pieces, across piece (token) boundaries. Text is released only once it
 * can no longer be the start of a stop string; the stop string itself, and anything after it, is never released.
 *
 * <p>Why release is safe: text is held from the first position whose remainder is a prefix of some stop string, so
 * every later match starts at or after the held text, never inside text already released.
 *
 * <p>Not thread-safe: one sequence, one thread at a time.
 */
public final class StopMatcher {
    private final List<String> stops;
    private final int longest;
    private final StringBuilder held = new StringBuilder();
    private String matched;

    public StopMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
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
            String out = held.substring(0, first);
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
