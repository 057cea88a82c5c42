package dev.afd.attention.kv;

import java.util.Arrays;

/**
 * Cache slots that share an attention type, and so a block table: vLLM's KV cache group. A sequence's blocks of the
 * full-attention group hold every position it computed; those of a sliding group only what a later query can still
 * see, since a row at position {@code p} of a layer with window {@code w} reads positions {@code p + 1 - w .. p}.
 *
 * @param name {@code full} or {@code sliding}, as metrics label it
 * @param slots the model's cache slots ({@link dev.afd.model.family.KvLayout}) in this group, ascending; the group's
 *     pool stores slot {@code slots[i]} as its layer {@code i}
 * @param window 0 for full attention; else the largest window of the group's layers, so that no layer of the group
 *     ever reads a position the group dropped
 */
public record KvGroup(String name, int[] slots, int window) {
    public static final String FULL = "full";
    public static final String SLIDING = "sliding";

    public KvGroup {
        slots = slots.clone();
        if (slots.length == 0 || window < 0) {
            throw new IllegalArgumentException("a KV group needs at least one slot and a window >= 0; got slots "
                    + Arrays.toString(slots) + ", window " + window);
        }
    }

    /** Whether the group drops positions that fall out of its window. */
    public boolean sliding() {
        return window > 0;
    }

    /**
     * The first block a query at {@code position} or later can read: blocks before it are never read again. 0 for
     * full attention.
     */
    public int firstVisibleBlock(int position, int blockSize) {
        return sliding() ? Math.max(0, position + 1 - window) / blockSize : 0;
    }

    /**
     * Blocks one sequence of {@code positions} positions must hold at once, at most, when each step writes at most
     * {@code maxChunk} positions: all of them for full attention; for a sliding group the window before the chunk
     * plus the chunk, capped by the sequence itself.
     */
    public long blocksNeeded(long positions, int maxChunk, int blockSize) {
        long all = Math.ceilDiv(positions, blockSize);
        return sliding() ? Math.min(all, blocksSpanned((long) window - 1 + maxChunk, blockSize)) : all;
    }

    /** The most blocks {@code positions} consecutive positions can touch, wherever they start. */
    static long blocksSpanned(long positions, int blockSize) {
        return positions <= 0 ? 0 : Math.ceilDiv(positions - 1, blockSize) + 1;
    }

    @Override
    public int[] slots() {
        return slots.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KvGroup g && g.name.equals(name) && Arrays.equals(g.slots, slots) && g.window == window;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * name.hashCode() + Arrays.hashCode(slots)) + window;
    }

    @Override
    public String toString() {
        return "KvGroup[" + name + ", slots=" + Arrays.toString(slots) + ", window=" + window + "]";
    }
}
