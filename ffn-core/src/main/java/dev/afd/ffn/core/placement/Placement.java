package dev.afd.ffn.core.placement;

import java.util.List;
import java.util.StringJoiner;

/**
 * Which experts each ffn-node holds and the load it should expect.
 *
 * @param nodes the nodes, by index
 */
public record Placement(List<Node> nodes) {
    public Placement {
        nodes = List.copyOf(nodes);
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("a placement needs at least one node");
        }
    }

    /**
     * One node's experts and expected load.
     *
     * @param experts the expert ids it holds, ascending, each once
     * @param load routed tokens it should expect: each expert's load divided by the number of nodes holding it (the
     *     attention node spreads an expert's rows evenly over its holders)
     */
    public record Node(List<Integer> experts, double load) {
        public Node {
            experts = List.copyOf(experts);
        }

        /** The experts as {@code afd ffn --experts} takes them: ascending ranges and single ids, e.g. 0-11,24,30-35. */
        public String expertSet() {
            StringJoiner out = new StringJoiner(",");
            for (int i = 0; i < experts.size(); ) {
                int j = i;
                while (j + 1 < experts.size() && experts.get(j + 1) == experts.get(j) + 1) {
                    j++;
                }
                out.add(i == j ? String.valueOf(experts.get(i)) : experts.get(i) + "-" + experts.get(j));
                i = j + 1;
            }
            return out.toString();
        }
    }

    /** The mean expected load over the nodes: the total load divided by the number of nodes. */
    public double meanLoad() {
        return nodes.stream().mapToDouble(Node::load).sum() / nodes.size();
    }

    /** The busiest node's expected load. */
    public double maxLoad() {
        return nodes.stream().mapToDouble(Node::load).max().orElseThrow();
    }

    /**
     * How far the busiest node is above the mean: 1 is perfect balance. The step's FFN time follows the busiest node,
     * so this is the slowdown against a perfectly balanced tier.
     */
    public double maxOverMean() {
        return maxLoad() / meanLoad();
    }

    /** How many nodes hold each expert, indexed by expert id. */
    public int[] replicas(int experts) {
        int[] replicas = new int[experts];
        nodes.forEach(n -> n.experts().forEach(e -> replicas[e]++));
        return replicas;
    }
}
