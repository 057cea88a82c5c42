package dev.afd.attention.kv;

import dev.afd.model.kernels.KvView;
import dev.afd.model.kv.KvRows;
import dev.afd.model.kv.SequenceKv;
import dev.afd.model.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One sequence's KV cache over a shared {@link BlockPool}: a block table maps the sequence's block {@code i}
 * (positions {@code [i·blockSize, (i+1)·blockSize)}) to a pool block, the same for every layer.
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
        if (needed > pool.free()) {
            return false;
        }
        if (blockCount + needed > table.length) {
            table = Arrays.copyOf(table, Math.max(blockCount + needed, 2 * table.length));
        }
        for (int i = 0; i < needed; i++) {
            table[blockCount++] = pool.allocate();
        }
        return true;
    }

    /** Blocks needed to hold {@code positions} positions. */
    public int blocksFor(int positions) {
        return Math.ceilDiv(positions, pool.blockSize());
    }

    /** Positions the held blocks can store. */
    public int capacity() {
        return blockCount * pool.blockSize();
    }

    /** Returns every block to the pool; the sequence can grow again afterwards. Calling it twice is harmless. */
    public void release() {
        while (blockCount > 0) {
            pool.free(table[--blockCount]);
        }
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
            return pool.keys(layer, tableEntry(block));
        }

        @Override
        public MemorySegment values(int block) {
            return pool.values(layer, tableEntry(block));
        }

        private int tableEntry(int block) {
            if (block < 0 || block >= blockCount) {
                throw new IndexOutOfBoundsException("KV block " + block + " of the sequence is outside its "
                        + blockCount + " blocks");
            }
            return table[block];
        }
    }
}
