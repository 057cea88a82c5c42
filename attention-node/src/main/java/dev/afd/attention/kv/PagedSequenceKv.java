package dev.afd.attention.kv;

import dev.afd.model.kernels.KvView;
import dev.afd.model.kv.KvRows;
import dev.afd.model.kv.SequenceKv;
import dev.afd.model.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One sequence's KV cache over a shared {@link BlockPool}: a block table maps the sequence's block {@code i}
 * (positions {@code [i·blockSize, (i+1)·blockSize)}) to a pool block, the same for every layer. The leading blocks
 * may be shared with other sequences ({@link #attach}, prefix caching): the sequence never writes them, since it only
 * writes positions past those already in its cache.
 *
 * <p>Threading: the engine thread grows ({@link #ensureCapacity}), writes and releases the table between steps (the
 * forward pass writes rows on the engine thread too); attention kernels read through {@link #layer(int)} during a
 * step.
 */
public final class PagedSequenceKv implements SequenceKv {
    private final BlockPool pool;
    private final KvView[] views;
    private int[] table = new int[4];
    private int blockCount;

    public PagedSequenceKv(BlockPool pool) {
        this.pool = pool;
        this.views = new KvView[pool.numLayers()];
        for (int l = 0; l < views.length; l++) {
            views[l] = new LayerView(l);
        }
    }

    @Override
    public KvView layer(int layer) {
        return views[layer];
    }

    @Override
    public void write(int layer, int pos, float[] k, int kOff, float[] v, int vOff) {
        int block = pos / pool.blockSize();
        if (pos < 0 || block >= blockCount) {
            throw new IllegalStateException("position " + pos + " has no KV block (the sequence holds " + blockCount
                    + " blocks of " + pool.blockSize() + "): ensureCapacity must cover a step's positions before it"
                    + " runs");
        }
        DType dtype = pool.dtype();
        int headDim = pool.headDim();
        long offset = KvRows.rowOffset(pos, pool.blockSize(), headDim, dtype);
        KvRows.store(pool.keys(layer, table[block]), offset, dtype, k, kOff, headDim);
        KvRows.store(pool.values(layer, table[block]), offset, dtype, v, vOff, headDim);
    }

    /**
     * Makes room for positions {@code [0, positions)}, taking blocks from the pool. All or nothing: when the pool
     * cannot supply every block needed, nothing is taken.
     *
     * @return whether the sequence now holds enough blocks
     */
    public boolean ensureCapacity(int positions) {
        int needed = blocksFor(positions) - blockCount;
        if (needed <= 0) {
            return true;
        }
        if (needed > pool.available()) {
            return false;
        }
        for (int i = 0; i < needed; i++) {
            append(pool.allocate());
        }
        return true;
    }

    /**
     * Appends registered block {@code id} (found by {@link BlockPool#lookup}) as the sequence's next block, shared
     * with whoever else holds it. The sequence's positions must end on a block boundary.
     */
    public void attach(int id) {
        pool.acquire(id);
        append(id);
    }

    /** Appends block {@code id}, already taken from the pool for this sequence, as its next block. */
    public void append(int id) {
        if (blockCount == table.length) {
            table = Arrays.copyOf(table, 2 * table.length);
        }
        table[blockCount++] = id;
    }

    /** Blocks needed to hold {@code positions} positions. */
    public int blocksFor(int positions) {
        return Math.ceilDiv(positions, pool.blockSize());
    }

    /** Positions the held blocks can store. */
    public int capacity() {
        return blockCount * pool.blockSize();
    }

    /**
     * Returns every block to the pool, last block first: cached ones are then evicted tail first, so a shared prefix
     * outlives the ends that follow it. The sequence can grow again afterwards. Calling it twice is harmless.
     */
    public void release() {
        while (blockCount > 0) {
            pool.release(table[--blockCount]);
        }
    }

    /**
     * Returns the blocks past those holding positions {@code [0, positions)}, last first: after speculative decoding
     * rejected drafts, the blocks that held only their positions. Blocks kept may still hold rejected positions past
     * {@code positions}; those are written again before anything reads them.
     */
    public void truncate(int positions) {
        int keep = blocksFor(positions);
        while (blockCount > keep) {
            pool.release(table[--blockCount]);
        }
    }

    /** The pool the blocks come from. */
    public BlockPool pool() {
        return pool;
    }

    /** Blocks held. */
    public int blockCount() {
        return blockCount;
    }

    /** Pool block id of the sequence's block {@code block}. */
    public int block(int block) {
        if (block < 0 || block >= blockCount) {
            throw new IndexOutOfBoundsException("KV block " + block + " of the sequence is outside its " + blockCount
                    + " blocks");
        }
        return table[block];
    }

    /** The block table: pool block ids in position order (a copy). */
    public int[] blocks() {
        return Arrays.copyOf(table, blockCount);
    }

    /** One layer's blocks, resolved through the table at read time so a grown table is seen at once. */
    private final class LayerView implements KvView {
        private final int layer;

        LayerView(int layer) {
            this.layer = layer;
        }

        @Override
        public int blockSize() {
            return pool.blockSize();
        }

        @Override
        public DType dtype() {
            return pool.dtype();
        }

        @Override
        public MemorySegment keys(int block) {
            return pool.keys(layer, block(block));
        }

        @Override
        public MemorySegment values(int block) {
            return pool.values(layer, block(block));
        }
    }
}
