package dev.afd.ffn.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The routed experts an ffn-node holds, the same ids in every MoE layer: any set, written as comma-separated ranges
 * ({@code 0-11,24-35}), single ids, or {@code all}. Sets of different nodes may overlap: an expert held by several
 * nodes has replicas.
 *
 * <p>Immutable.
 */
public final class ExpertSet {
    private final BitSet ids;
    /** {@code all} before the model's expert count is known, resolved by {@link #requireWithin}. */
    private final boolean all;

    private ExpertSet(BitSet ids, boolean all) {
        this.ids = ids;
        this.all = all;
    }

    /** The experts of one contiguous range. */
    public static ExpertSet of(ExpertRange range) {
        BitSet b = new BitSet();
        b.set(range.first(), range.last() + 1);
        return new ExpertSet(b, false);
    }

    /** Exactly {@code ids}. */
    public static ExpertSet of(int... ids) {
        BitSet b = new BitSet();
        for (int id : ids) {
            if (id < 0) {
                throw new IllegalArgumentException("expert ids are 0 or more, got " + id);
            }
            b.set(id);
        }
        if (b.isEmpty()) {
            throw new IllegalArgumentException("an expert set needs at least one expert");
        }
        return new ExpertSet(b, false);
    }

    /** Every expert of the model; resolved to ids by {@link #requireWithin}. */
    public static ExpertSet all() {
        return new ExpertSet(new BitSet(), true);
    }

    /**
     * Parses {@code all}, or comma-separated ranges and ids: {@code 0-11,24-35}, {@code 3,7,9-12}.
     *
     * @throws IllegalArgumentException naming the part that is not a range
     */
    public static ExpertSet parse(String text) {
        String s = text.strip();
        if (s.equalsIgnoreCase("all")) {
            return all();
        }
        BitSet b = new BitSet();
        for (String part : s.split(",")) {
            ExpertRange r = ExpertRange.parse(part);
            b.set(r.first(), r.last() + 1);
        }
        return new ExpertSet(b, false);
    }

    /**
     * This set within a model of {@code numExperts} routed experts ({@code all} becomes {@code 0..numExperts-1}).
     *
     * @throws IllegalArgumentException when the model has no routed experts or the set names one it lacks
     */
    public ExpertSet requireWithin(int numExperts) {
        if (numExperts == 0) {
            throw new IllegalArgumentException("experts " + this + " were asked for, but the model has no routed"
                    + " experts");
        }
        if (all) {
            BitSet b = new BitSet();
            b.set(0, numExperts);
            return new ExpertSet(b, false);
        }
        if (ids.length() > numExperts) {
            throw new IllegalArgumentException("experts " + this + " exceed the model's " + numExperts
                    + " routed experts; pick a range within 0-" + (numExperts - 1));
        }
        return this;
    }

    public boolean contains(int expert) {
        return all ? expert >= 0 : expert >= 0 && ids.get(expert);
    }

    /** Number of experts (after {@link #requireWithin} for {@code all}). */
    public int size() {
        return ids.cardinality();
    }

    /** The ids, ascending. */
    public int[] ids() {
        return ids.stream().toArray();
    }

    /** The set as maximal contiguous ranges, ascending. */
    public List<ExpertRange> ranges() {
        List<ExpertRange> out = new ArrayList<>();
        for (int start = ids.nextSetBit(0); start >= 0; ) {
            int end = ids.nextClearBit(start);
            out.add(new ExpertRange(start, end - 1));
            start = ids.nextSetBit(end);
        }
        return out;
    }

    /**
     * The set as one range, for backends that hold a contiguous slice.
     *
     * @throws IllegalArgumentException when the set has gaps
     */
    public ExpertRange asRange(String backend) {
        List<ExpertRange> r = ranges();
        if (r.size() != 1) {
            throw new IllegalArgumentException("the " + backend + " backend holds one contiguous range of experts,"
                    + " but this node was given " + this + "; give --experts as one range FIRST-LAST");
        }
        return r.getFirst();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExpertSet other && all == other.all && ids.equals(other.ids);
    }

    @Override
    public int hashCode() {
        return ids.hashCode() * 31 + (all ? 1 : 0);
    }

    /** {@code all}, or the ranges as {@link #parse} reads them: {@code 0-11,24-35}. */
    @Override
    public String toString() {
        return all ? "all" : ranges().stream().map(ExpertRange::toString).collect(Collectors.joining(","));
    }

    /** The set of {@code ids} as {@link #toString} writes it, e.g. for a handshake's expert list. */
    public static String describe(int[] ids) {
        return ids.length == 0 ? "none" : of(Arrays.copyOf(ids, ids.length)).toString();
    }
}
