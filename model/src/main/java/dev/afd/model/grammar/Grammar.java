package dev.afd.model.grammar;

import java.util.Arrays;

/**
 * A byte-level grammar as a recursive transition network: numbered nodes joined by edges that read one byte in a
 * range, read nothing, or call a rule (run the rule from its start node to one of its return nodes, then go on at the
 * edge's target). The top-level rule starts at {@link #start}; reaching a return node with no caller left means the
 * input so far is a complete sentence. Calls give the recursion JSON needs ({@code $ref}, nested values); everything
 * else is a plain NFA.
 *
 * <p>Built by {@link GrammarBuilder} where the constraint is understood (the gateway compiles schemas and regular
 * expressions into it) and run by {@link GrammarMatcher} where tokens are sampled, so the attention node needs no
 * schema knowledge. Immutable once built.
 *
 * @param nodes how many nodes there are
 * @param edges {@value #EDGE_INTS} ints per edge: from, kind ({@link #BYTES}, {@link #EPSILON} or {@link #CALL}),
 *     low byte (or the called rule's start node), high byte, target
 * @param returns the nodes that end their rule
 * @param start the top-level rule's start node
 */
public record Grammar(int nodes, int[] edges, int[] returns, int start) {
    public static final int EDGE_INTS = 5;
    public static final int BYTES = 0;
    public static final int EPSILON = 1;
    public static final int CALL = 2;
    /** Bounds a grammar's size so that a request cannot make the node spend unbounded memory on it. */
    public static final int MAX_NODES = 1 << 20;

    /**
     * @throws IllegalArgumentException naming what is malformed (a grammar comes from the wire)
     */
    public Grammar {
        edges = edges.clone();
        returns = returns.clone();
        if (nodes < 1 || nodes > MAX_NODES) {
            throw new IllegalArgumentException("a grammar must have between 1 and " + MAX_NODES + " nodes, got "
                    + nodes);
        }
        if (edges.length % EDGE_INTS != 0) {
            throw new IllegalArgumentException("grammar edges come in groups of " + EDGE_INTS + " ints, got "
                    + edges.length);
        }
        requireNode(nodes, start, "start");
        for (int r : returns) {
            requireNode(nodes, r, "return");
        }
        for (int e = 0; e < edges.length; e += EDGE_INTS) {
            requireNode(nodes, edges[e], "edge source");
            requireNode(nodes, edges[e + 4], "edge target");
            switch (edges[e + 1]) {
                case BYTES -> {
                    if (edges[e + 2] < 0 || edges[e + 3] > 255 || edges[e + 2] > edges[e + 3]) {
                        throw new IllegalArgumentException("grammar byte range [" + edges[e + 2] + ", " + edges[e + 3]
                                + "] is not within [0, 255]");
                    }
                }
                case EPSILON -> { }
                case CALL -> requireNode(nodes, edges[e + 2], "called rule");
                default -> throw new IllegalArgumentException("unknown grammar edge kind " + edges[e + 1]);
            }
        }
    }

    private static void requireNode(int nodes, int node, String what) {
        if (node < 0 || node >= nodes) {
            throw new IllegalArgumentException("grammar " + what + " node " + node + " is outside [0, " + nodes + ")");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Grammar g && g.nodes == nodes && g.start == start && Arrays.equals(g.edges, edges)
                && Arrays.equals(g.returns, returns);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(edges) + Arrays.hashCode(returns)) + nodes * 17 + start;
    }

    @Override
    public String toString() {
        return "Grammar[" + nodes + " nodes, " + edges.length / EDGE_INTS + " edges]";
    }
}
