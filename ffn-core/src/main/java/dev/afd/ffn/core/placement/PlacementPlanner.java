package dev.afd.ffn.core.placement;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Places routed experts on ffn-nodes so that the busiest node's expected load is as low as possible, replicating hot
 * experts within each node's capacity (the greedy of DeepSeek's expert-parallel load balancer, EPLB).
 *
 * <p>Two steps:
 * <ol>
 *   <li><b>Replicas.</b> Every expert gets one replica. Each spare slot ({@code nodes * capacity - experts}) goes to
 *       the expert whose load per replica is highest at that moment, which lowers the largest single item to place.
 *       An expert has at most one replica per node, and experts without load get no extra replica (it would not
 *       lower anything).</li>
 *   <li><b>Nodes.</b> Replicas are placed longest-processing-time first: in decreasing order of their load (the
 *       expert's load divided by its replicas), each goes to the least-loaded node that has a free slot and does not
 *       already hold that expert (ties: the node with fewer experts, then the lower index). Replicas of one expert
 *       have equal load and are placed one after the other, so the first always finds a node; should a later one
 *       find every node with a free slot already holding its expert, that replica is dropped and the expert keeps
 *       the ones placed.</li>
 * </ol>
 * A node's expected load is the sum over its experts of the expert's load divided by its number of replicas, since
 * the attention node spreads an expert's rows evenly over the nodes that hold it.
 */
public final class PlacementPlanner {
    private PlacementPlanner() {
    }

    /**
     * Plans a placement of {@code load.length} experts.
     *
     * @param load routed tokens per expert, indexed by expert id
     * @param nodes ffn-nodes to place them on
     * @param capacity the most experts one node may hold
     * @throws IllegalArgumentException when the nodes cannot hold every expert, or the load counts no tokens
     */
    public static Placement plan(double[] load, int nodes, int capacity) {
        int experts = load.length;
        check(load, nodes);
        if (capacity < 1) {
            throw new IllegalArgumentException("--capacity must be at least 1 expert per node, got " + capacity);
        }
        if ((long) nodes * capacity < experts) {
            throw new IllegalArgumentException(nodes + " nodes x " + capacity + " experts each cannot hold all "
                    + experts + " experts: raise --capacity to at least " + ceilDiv(experts, nodes)
                    + " or --nodes to at least " + ceilDiv(experts, capacity));
        }
        int[] replicas = replicas(load, nodes, capacity);

        List<Integer> order = new ArrayList<>();
        for (int e = 0; e < experts; e++) {
            for (int r = 0; r < replicas[e]; r++) {
                order.add(e);
            }
        }
        order.sort(Comparator.comparingDouble((Integer e) -> -load[e] / replicas[e]).thenComparing(e -> e));
        double[] nodeLoad = new double[nodes];
        int[] held = new int[nodes];
        List<BitSet> holds = new ArrayList<>();
        for (int n = 0; n < nodes; n++) {
            holds.add(new BitSet(experts));
        }
        int[] placed = new int[experts];
        for (int e : order) {
            int best = -1;
            for (int n = 0; n < nodes; n++) {
                if (held[n] < capacity && !holds.get(n).get(e) && (best < 0 || nodeLoad[n] < nodeLoad[best]
                        || nodeLoad[n] == nodeLoad[best] && held[n] < held[best])) {
                    best = n;
                }
            }
            if (best >= 0) {
                holds.get(best).set(e);
                held[best]++;
                nodeLoad[best] += load[e] / replicas[e];
                placed[e]++;
            }
        }
        List<Placement.Node> result = new ArrayList<>();
        for (BitSet h : holds) {
            List<Integer> ids = h.stream().boxed().toList();
            result.add(new Placement.Node(ids, ids.stream().mapToDouble(e -> load[e] / placed[e]).sum()));
        }
        return new Placement(result);
    }

    /**
     * The static layout for comparison: node {@code p} holds the {@code p}-th of {@code nodes} equal contiguous ranges
     * ({@link EvenSplit}), no replicas.
     */
    public static Placement contiguous(double[] load, int nodes) {
        check(load, nodes);
        List<Placement.Node> result = new ArrayList<>();
        for (int p = 0; p < nodes; p++) {
            List<Integer> ids = new ArrayList<>();
            double sum = 0;
            for (int e = EvenSplit.start(load.length, nodes, p); e < EvenSplit.start(load.length, nodes, p + 1); e++) {
                ids.add(e);
                sum += load[e];
            }
            result.add(new Placement.Node(ids, sum));
        }
        return new Placement(result);
    }

    /** Replicas per expert: one each, then every spare slot to the expert with the most load per replica. */
    private static int[] replicas(double[] load, int nodes, int capacity) {
        int experts = load.length;
        int[] replicas = new int[experts];
        PriorityQueue<Integer> byLoadPerReplica = new PriorityQueue<>(
                Comparator.comparingDouble((Integer e) -> -load[e] / replicas[e]).thenComparing(e -> e));
        for (int e = 0; e < experts; e++) {
            replicas[e] = 1;
            if (load[e] > 0 && nodes > 1) {
                byLoadPerReplica.add(e);
            }
        }
        // A node holds an expert at most once, so a node never has more useful slots than there are experts.
        long spare = (long) nodes * Math.min(capacity, experts) - experts;
        for (; spare > 0 && !byLoadPerReplica.isEmpty(); spare--) {
            int e = byLoadPerReplica.poll();
            replicas[e]++;
            if (replicas[e] < nodes) {
                byLoadPerReplica.add(e);
            }
        }
        return replicas;
    }

    private static void check(double[] load, int nodes) {
        if (nodes < 1) {
            throw new IllegalArgumentException("--nodes must be at least 1, got " + nodes);
        }
        if (load.length == 0) {
            throw new IllegalArgumentException("there are no experts to place");
        }
        double total = 0;
        for (int e = 0; e < load.length; e++) {
            if (!Double.isFinite(load[e]) || load[e] < 0) {
                throw new IllegalArgumentException("expert " + e + " has load " + load[e] + "; loads are token"
                        + " counts (finite, >= 0)");
            }
            total += load[e];
        }
        if (total == 0) {
            throw new IllegalArgumentException("the load counts no routed tokens for any of the " + load.length
                    + " experts: measure after some traffic has gone through the gateway");
        }
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
