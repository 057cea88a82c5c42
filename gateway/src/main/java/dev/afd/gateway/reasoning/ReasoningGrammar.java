package dev.afd.gateway.reasoning;

import dev.afd.model.grammar.Grammar;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Structured output for the answer only: a grammar that lets the model reason freely, any bytes that do not contain
 * the end tag, then the end tag, then whatever the answer's grammar allows. The free part is the end tag's
 * Knuth-Morris-Pratt automaton (one node per tag byte matched so far) put in front of the answer's network; matching
 * the tag's last byte leads to the answer's start node, so the answer runs at the top level, as it would alone.
 *
 * <p>Stateless and thread-safe.
 */
final class ReasoningGrammar {
    private ReasoningGrammar() {}

    /** {@code answer} preceded by free reasoning up to and including {@code endTag}. */
    static Grammar afterEndTag(String endTag, Grammar answer) {
        byte[] tag = endTag.getBytes(StandardCharsets.UTF_8);
        int first = answer.nodes();
        int[] fallback = failureLinks(tag);
        int[] edges = Arrays.copyOf(answer.edges(), answer.edges().length + tag.length * 256 * Grammar.EDGE_INTS);
        int n = answer.edges().length;
        for (int matched = 0; matched < tag.length; matched++) {
            int[] next = new int[256];
            for (int b = 0; b < 256; b++) {
                next[b] = step(tag, fallback, matched, b);
            }
            // Runs of bytes that lead to the same node become one byte-range edge.
            for (int lo = 0; lo < 256; ) {
                int hi = lo;
                while (hi < 255 && next[hi + 1] == next[lo]) {
                    hi++;
                }
                int target = next[lo] == tag.length ? answer.start() : first + next[lo];
                n = put(edges, n, first + matched, lo, hi, target);
                lo = hi + 1;
            }
        }
        return new Grammar(first + tag.length, Arrays.copyOf(edges, n), answer.returns(), first);
    }

    private static int put(int[] edges, int at, int from, int lo, int hi, int target) {
        edges[at] = from;
        edges[at + 1] = Grammar.BYTES;
        edges[at + 2] = lo;
        edges[at + 3] = hi;
        edges[at + 4] = target;
        return at + Grammar.EDGE_INTS;
    }

    /** How many tag bytes are matched after reading {@code b} with {@code matched} matched. */
    private static int step(byte[] tag, int[] fallback, int matched, int b) {
        int m = matched;
        while (true) {
            if ((tag[m] & 0xff) == b) {
                return m + 1;
            }
            if (m == 0) {
                return 0;
            }
            m = fallback[m];
        }
    }

    /** fallback[m]: the longest proper prefix of tag[0, m) that is also its suffix (KMP's failure function). */
    private static int[] failureLinks(byte[] tag) {
        int[] f = new int[tag.length + 1];
        for (int i = 2, k = 0; i <= tag.length; i++) {
            while (k > 0 && tag[k] != tag[i - 1]) {
                k = f[k];
            }
            if (tag[k] == tag[i - 1]) {
                k++;
            }
            f[i] = k;
        }
        return f;
    }
}
