package dev.afd.attention.ffn;

import dev.afd.ffn.core.ExpertSet;
import dev.afd.proto.HandshakeAccepted;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Who can compute what, in one snapshot of the live ffn-nodes taken once per layer exchange: every node computes the
 * shared experts and dense layers, and the routed experts it announced at its handshake. Placing units prefers nodes
 * in good standing (not draining, no recent missed deadline) and falls back to the others, so that an expert keeps
 * being served while any node holds it.
 *
 * <p>Balance: a row goes whole to the least-loaded preferred node that holds all of its experts (one copy of its
 * activations on the wire, one result back); a row no single node can take is split unit by unit, each routed slot
 * to the least-loaded holder of its expert, and its shared unit to the node of its first slot, so that node can add
 * the start of the row itself. Where every expert has one holder, how a row is cut therefore depends on its experts
 * alone, never on what else is in the batch.
 * Load is counted in units; ties go round-robin by row, starting one node further at each exchange, so two full
 * copies each take half the rows even when exchanges carry a single row.
 *
 * <p>Immutable after construction; used by one exchange at a time under its lock.
 */
final class Holders {
    private final List<FfnLink> links;
    private final List<FfnLink> down;
    private final BitSet[] experts;
    private final boolean[] preferred;
    private final int numExperts;
    private final int rotation;

    /**
     * @param live the connected members, which take work
     * @param down the members not connected now, named in errors
     * @param preferred whether a node is in good standing (not draining, not recently late)
     * @param numExperts the model's routed experts
     * @param rotation where the round-robin of ties starts (a different value at each exchange)
     */
    Holders(List<FfnLink> live, List<FfnLink> down, Predicate<FfnLink> preferred, int numExperts, int rotation) {
        this.numExperts = numExperts;
        this.rotation = rotation;
        this.links = List.copyOf(live);
        this.down = List.copyOf(down);
        this.experts = new BitSet[links.size()];
        this.preferred = new boolean[links.size()];
        for (int n = 0; n < links.size(); n++) {
            experts[n] = new BitSet();
            HandshakeAccepted a = links.get(n).accepted();
            if (a != null) {
                a.getExpertsList().forEach(experts[n]::set);
            }
            this.preferred[n] = preferred.test(links.get(n));
        }
    }

    List<FfnLink> links() {
        return links;
    }

    /** The members not connected when the snapshot was taken. */
    List<FfnLink> down() {
        return down;
    }

    /**
     * The model's experts that no node here outside {@code excluded} holds, as {@code 3-5,9}, or null when all are
     * held.
     */
    String unheld(Set<FfnLink> excluded) {
        BitSet held = new BitSet();
        for (int n = 0; n < links.size(); n++) {
            if (!excluded.contains(links.get(n))) {
                held.or(experts[n]);
            }
        }
        int[] missing = new int[numExperts];
        int count = 0;
        for (int e = held.nextClearBit(0); e < numExperts; e = held.nextClearBit(e + 1)) {
            missing[count++] = e;
        }
        return count == 0 ? null : ExpertSet.describe(Arrays.copyOf(missing, count));
    }

    /**
     * Places {@code units} (ascending, grouped by row) on nodes not in {@code excluded}.
     *
     * @return per node index, the units it computes (empty for none)
     * @throws NoHolderException when some unit's expert has no node left to compute it
     */
    List<int[]> place(FfnUnits work, int[] units, Set<FfnLink> excluded) {
        int n = links.size();
        int[] load = new int[n];
        List<List<Integer>> placed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            placed.add(new ArrayList<>());
        }
        BitSet unheld = new BitSet();
        for (int start = 0; start < units.length; ) {
            int row = work.row(units[start]);
            int end = start;
            while (end < units.length && work.row(units[end]) == row) {
                end++;
            }
            int whole = pick(work, units, start, end, row, excluded, load, true);
            int[] nodes = new int[end - start];
            for (int i = start; i < end; i++) {
                nodes[i - start] = whole >= 0 ? whole : work.experts()[units[i]] < 0 ? -1
                        : pick(work, units, i, i + 1, row, excluded, load, false);
                if (nodes[i - start] >= 0) {
                    load[nodes[i - start]]++;
                } else if (work.experts()[units[i]] >= 0) {
                    unheld.set(work.experts()[units[i]]);
                }
            }
            for (int i = start; i < end; i++) {
                if (whole < 0 && work.experts()[units[i]] < 0) {
                    // The shared unit joins the row's first slot where that is placed here, else any node.
                    boolean withSlot = i + 1 < end && nodes[i + 1 - start] >= 0;
                    nodes[i - start] = withSlot ? nodes[i + 1 - start]
                            : pick(work, units, i, i + 1, row, excluded, load, false);
                    if (nodes[i - start] < 0) {
                        throw new NoHolderException("(every node failed this step)");
                    }
                    load[nodes[i - start]]++;
                }
                if (nodes[i - start] >= 0) {
                    placed.get(nodes[i - start]).add(units[i]);
                }
            }
            start = end;
        }
        if (!unheld.isEmpty()) {
            throw new NoHolderException(ExpertSet.describe(unheld.stream().toArray()));
        }
        List<int[]> out = new ArrayList<>(n);
        for (List<Integer> p : placed) {
            out.add(p.stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
    }

    /**
     * The least-loaded node that can take units {@code [from, to)}, preferred nodes first (only those when
     * {@code preferredOnly}); -1 for none.
     */
    private int pick(FfnUnits work, int[] units, int from, int to, int row, Set<FfnLink> excluded, int[] load,
            boolean preferredOnly) {
        int n = links.size();
        int best = -1;
        boolean bestPreferred = false;
        for (int step = 0; step < n; step++) {
            int node = Math.floorMod(row + rotation + step, n); // equal loads alternate between nodes
            if (excluded.contains(links.get(node)) || preferredOnly && !preferred[node]
                    || !holdsAll(node, work, units, from, to)) {
                continue;
            }
            boolean better = best < 0 || preferred[node] && !bestPreferred
                    || preferred[node] == bestPreferred && load[node] < load[best];
            if (better) {
                best = node;
                bestPreferred = preferred[node];
            }
        }
        return best;
    }

    private boolean holdsAll(int node, FfnUnits work, int[] units, int from, int to) {
        for (int i = from; i < to; i++) {
            int e = work.experts()[units[i]];
            if (e >= 0 && !experts[node].get(e)) {
                return false;
            }
        }
        return true;
    }

    /** Some units' experts have no node left: the exchange cannot be completed. */
    static final class NoHolderException extends RuntimeException {
        NoHolderException(String experts) {
            super(experts, null, false, false);
        }
    }
}
