package dev.afd.attention.kv;

import dev.afd.model.kernels.KvView;
import dev.afd.model.kv.SequenceKv;

/**
 * One sequence's KV cache over shared {@link KvPools}: one {@link BlockTable} per {@link KvGroup}, each mapping the
 * sequence's block {@code i} (positions {@code [i·blockSize, (i+1)·blockSize)}) to a block of its group's pool, the
 * same for every slot of the group. Every table has the same {@link #blockCount() count} of entries; a sliding
 * group's table holds only its last ones ({@link #slide}). The leading blocks may be shared with other sequences
 * (prefix caching): the sequence never writes them, since it only writes positions past those already in its cache.
 *
 * <p>Threading: the engine thread grows ({@link #ensureCapacity}), slides, writes and releases the tables between
 * steps (the forward pass writes rows on the engine thread too); attention kernels read through {@link #layer(int)}
 * during a step.
 */
public final class PagedSequenceKv implements SequenceKv {
    private final KvPools pools;
    private final BlockTable[] tables;
    private final KvView[] views;

    public PagedSequenceKv(KvPools pools) {
        this.pools = pools;
        this.tables = new BlockTable[pools.size()];
        for (int g = 0; g < tables.length; g++) {
            tables[g] = new BlockTable(pools.pool(g));
        }
        this.views = new KvView[pools.slots()];
        for (int slot = 0; slot < views.length; slot++) {
            views[slot] = tables[pools.groupOf(slot)].view(pools.localSlot(slot));
        }
    }

    /** A cache over a single pool: one full-attention group of every slot. */
    public PagedSequenceKv(BlockPool pool) {
        this(KvPools.single(pool));
    }

    @Override
    public KvView layer(int layer) {
        return views[layer];
    }

    @Override
    public void write(int layer, int pos, float[] k, int kOff, float[] v, int vOff) {
        tables[pools.groupOf(layer)].write(pools.localSlot(layer), pos, k, kOff, v, vOff);
    }

    /**
     * Makes room for positions {@code [0, positions)}, taking blocks from the pools. All or nothing: when some pool
     * cannot supply every block its table needs, nothing is taken.
     *
     * @return whether the sequence now holds enough blocks
     */
    public boolean ensureCapacity(int positions) {
        int needed = blocksFor(positions) - blockCount();
        if (needed <= 0) {
            return true;
        }
        for (BlockTable t : tables) {
            if (needed > t.pool().available()) {
                return false;
            }
        }
        for (BlockTable t : tables) {
            for (int i = 0; i < needed; i++) {
                t.append(t.pool().allocate());
            }
        }
        return true;
    }

    /**
     * Positions {@code [0, reachable())} could be held: the tables' entries plus as many more as every pool can still
     * give.
     */
    public long reachable() {
        long more = Long.MAX_VALUE;
        for (BlockTable t : tables) {
            more = Math.min(more, t.pool().available());
        }
        return ((long) blockCount() + more) * pools.blockSize();
    }

    /**
     * Gives back, in each sliding group, the blocks no query at {@code nextPosition} or later can see: those wholly
     * before its window. The scheduler calls it after each step with the next position the sequence feeds.
     */
    public void slide(int nextPosition) {
        for (int g = 0; g < tables.length; g++) {
            tables[g].dropBefore(pools.group(g).firstVisibleBlock(nextPosition, pools.blockSize()));
        }
    }

    /** Blocks needed to hold {@code positions} positions. */
    public int blocksFor(int positions) {
        return Math.ceilDiv(positions, pools.blockSize());
    }

    /** Positions the tables cover. */
    public int capacity() {
        return blockCount() * pools.blockSize();
    }

    /**
     * Returns every block to the pools, last block first: cached ones are then evicted tail first, so a shared prefix
     * outlives the ends that follow it. The sequence can grow again afterwards. Calling it twice is harmless.
     */
    public void release() {
        truncate(0);
    }

    /**
     * Returns the blocks past those holding positions {@code [0, positions)}, last first: after speculative decoding
     * rejected drafts, the blocks that held only their positions. Blocks kept may still hold rejected positions past
     * {@code positions}; those are written again before anything reads them.
     */
    public void truncate(int positions) {
        int keep = blocksFor(positions);
        for (BlockTable t : tables) {
            t.truncate(keep);
        }
    }

    /** The pools the blocks come from. */
    public KvPools pools() {
        return pools;
    }

    /** Group {@code g}'s block table. */
    public BlockTable table(int g) {
        return tables[g];
    }

    /** Entries of every table: blocks of positions covered, held or dropped. */
    public int blockCount() {
        return tables[0].count();
    }
}
