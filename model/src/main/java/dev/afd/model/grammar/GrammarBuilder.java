package dev.afd.model.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Builds a {@link Grammar} from fragments (a piece of network with one entry and one exit node), the way a regular
 * expression becomes an NFA, plus rules that fragments call: a rule is reserved first and defined later, so rules can
 * refer to each other and to themselves.
 *
 * <p>Not thread-safe: one compiler, one thread.
 */
public final class GrammarBuilder {
    /** A piece of the network from {@code in} to {@code out}. */
    public record Fragment(int in, int out) {}

    /** A rule: callers enter at {@code start} and come back when it reaches {@code end}. */
    public record Rule(int start, int end) {}

    private final List<int[]> edges = new ArrayList<>();
    private final List<Integer> returns = new ArrayList<>();
    private int nodes;

    private int node() {
        if (nodes == Grammar.MAX_NODES) {
            throw new GrammarTooLargeException("the constraint needs more than " + Grammar.MAX_NODES
                    + " grammar nodes; use smaller bounds (maxLength, maxItems, repetition counts)");
        }
        return nodes++;
    }

    private void edge(int from, int kind, int lo, int hi, int to) {
        edges.add(new int[] {from, kind, lo, hi, to});
    }

    /** Nothing: enters and leaves at once. */
    public Fragment empty() {
        int n = node();
        return new Fragment(n, n);
    }

    /** One byte in {@code [lo, hi]}. */
    public Fragment bytes(int lo, int hi) {
        Fragment f = new Fragment(node(), node());
        edge(f.in, Grammar.BYTES, lo, hi, f.out);
        return f;
    }

    /** One byte in any of the ranges, given as pairs {@code lo, hi, lo, hi, ...}. */
    public Fragment byteSet(int... ranges) {
        Fragment f = new Fragment(node(), node());
        for (int i = 0; i < ranges.length; i += 2) {
            edge(f.in, Grammar.BYTES, ranges[i], ranges[i + 1], f.out);
        }
        return f;
    }

    /** Exactly these bytes. */
    public Fragment literal(byte[] bytes) {
        int in = node();
        int at = in;
        for (byte b : bytes) {
            int next = node();
            edge(at, Grammar.BYTES, b & 0xFF, b & 0xFF, next);
            at = next;
        }
        return new Fragment(in, at);
    }

    /** Exactly the UTF-8 bytes of {@code text}. */
    public Fragment literal(String text) {
        return literal(text.getBytes(StandardCharsets.UTF_8));
    }

    public Fragment seq(Fragment... parts) {
        return seq(List.of(parts));
    }

    public Fragment seq(List<Fragment> parts) {
        if (parts.isEmpty()) {
            return empty();
        }
        for (int i = 1; i < parts.size(); i++) {
            edge(parts.get(i - 1).out, Grammar.EPSILON, 0, 0, parts.get(i).in);
        }
        return new Fragment(parts.getFirst().in, parts.getLast().out);
    }

    /** Any one of the alternatives. */
    public Fragment alt(List<Fragment> choices) {
        Fragment f = new Fragment(node(), node());
        for (Fragment c : choices) {
            edge(f.in, Grammar.EPSILON, 0, 0, c.in);
            edge(c.out, Grammar.EPSILON, 0, 0, f.out);
        }
        return f;
    }

    public Fragment optional(Fragment body) {
        Fragment f = new Fragment(node(), node());
        edge(f.in, Grammar.EPSILON, 0, 0, body.in);
        edge(body.out, Grammar.EPSILON, 0, 0, f.out);
        edge(f.in, Grammar.EPSILON, 0, 0, f.out);
        return f;
    }

    /**
     * Between {@code min} and {@code max} repetitions ({@code max < 0}: no upper bound). Each bounded repetition
     * needs its own copy of the body, hence the supplier; keep bounded bodies small or make them a {@link #call}.
     */
    public Fragment repeat(Supplier<Fragment> body, int min, int max) {
        List<Fragment> parts = new ArrayList<>();
        for (int i = 0; i < min; i++) {
            parts.add(body.get());
        }
        if (max < 0) {
            Fragment loop = new Fragment(node(), node());
            Fragment b = body.get();
            edge(loop.in, Grammar.EPSILON, 0, 0, b.in);
            edge(b.out, Grammar.EPSILON, 0, 0, loop.in);
            edge(loop.in, Grammar.EPSILON, 0, 0, loop.out);
            parts.add(loop);
        } else {
            // Nested optionals, a(b(c)?)?, rather than a chain of independent ones: one way to match each count.
            Fragment tail = null;
            for (int i = max - min; i > 0; i--) {
                Fragment b = body.get();
                tail = optional(tail == null ? b : seq(b, tail));
            }
            if (tail != null) {
                parts.add(tail);
            }
        }
        return seq(parts);
    }

    /** Reserves a rule; {@link #define} gives its body, before or after calls to it are made. */
    public Rule rule() {
        Rule r = new Rule(node(), node());
        returns.add(r.end);
        return r;
    }

    public void define(Rule rule, Fragment body) {
        edge(rule.start, Grammar.EPSILON, 0, 0, body.in);
        edge(body.out, Grammar.EPSILON, 0, 0, rule.end);
    }

    /** Runs {@code rule}, then goes on. */
    public Fragment call(Rule rule) {
        Fragment f = new Fragment(node(), node());
        edge(f.in, Grammar.CALL, rule.start, 0, f.out);
        return f;
    }

    /** The grammar whose sentences are those of {@code top}. */
    public Grammar build(Fragment top) {
        Rule r = rule();
        define(r, top);
        int[] flat = new int[edges.size() * Grammar.EDGE_INTS];
        for (int i = 0; i < edges.size(); i++) {
            System.arraycopy(edges.get(i), 0, flat, i * Grammar.EDGE_INTS, Grammar.EDGE_INTS);
        }
        return new Grammar(nodes, flat, returns.stream().mapToInt(Integer::intValue).toArray(), r.start);
    }

    /** The constraint would make a grammar larger than a node accepts. */
    public static final class GrammarTooLargeException extends IllegalArgumentException {
        public GrammarTooLargeException(String message) {
            super(message);
        }
    }
}
