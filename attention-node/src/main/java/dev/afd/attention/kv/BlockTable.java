package dev.afd.attention.kv;

import dev.afd.model.kernels.KvView;
import dev.afd.model.kv.KvRows;
import dev.afd.model.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One sequence's block table in one {@link KvGroup}: entry {@code i} names the pool block holding positions
 * {@code [i·blockSize, (i+1)·blockSize)} of every slot of the group. Entries before {@link #firstHeld()} were
 * dropped (a sliding group's blocks that fell out of the window) or never taken (prefix caching attached only what
 * the window needs): they hold nothing, and reading one is an error, never a silent read of another sequence's block.
 *
 * <p>Threading: as {@link PagedSequenceKv}, which owns it.
 */
public final class BlockTable {
    private final BlockPool pool;
    private int[] table = new int[4];
    /** Entries {@code [firstHeld, count)} are held; those before hold nothing. */
    private int firstHeld;
    private int count;

    BlockTable(BlockPool pool) {
        this.pool = pool;
    }

    /** The pool the blocks come from. */
    public BlockPool pool() {
        return pool;
    }

    /** Entries of the table: one past the last position block, held or dropped. */
    public int count() {
        return count;
    }

    /** The first held entry; entries before it were dropped. */
    public int firstHeld() {
        return firstHeld;
    }

    /** Blocks held: what the sequence costs this group's pool. */
    public int held() {
        return count - firstHeld;
    }

    /** Pool block id of entry {@code block}. */
    public int block(int block) {
        if (block < firstHeld || block >= count) {
            throw new IndexOutOfBoundsException("KV block " + block + " of the sequence is not held: it holds blocks ["
                    + firstHeld + ", " + count + ")" + (block < firstHeld && block >= 0
                    ? "; the ones before fell out of the sliding window and were given back" : ""));
        }
        return table[block];
    }

    /** The held blocks in position order (a copy). */
    public int[] blocks() {
        return Arrays.copyOfRange(table, firstHeld, count);
    }

    /** Appends block {@code id}, already taken from the pool for this sequence. */
    public void append(int id) {
        if (count == table.length) {
            table = Arrays.copyOf(table, Math.max(2 * table.length, count + 1));
        }
        table[count++] = id;
    }

    /** Appends registered block {@code id} (found by {@link BlockPool#lookup}), shared with whoever else holds it. */
    public void attach(int id) {
        pool.acquire(id);
        append(id);
    }

    /** Starts an empty table at entry {@code block}: the entries before hold nothing (a hit that skips them). */
    public void skipTo(int block) {
        if (count != 0) {
            throw new IllegalStateException("only an empty block table can skip entries; this one has " + count);
        }
        if (table.length < block) {
            table = new int[Math.max(block, 4)];
        }
        firstHeld = block;
        count = block;
    }

    /** Returns the held blocks before entry {@code block} to the pool, oldest first. */
    public void dropBefore(int block) {
        int end = Math.min(block, count);
        while (firstHeld < end) {
            pool.release(table[firstHeld++]);
        }
    }

    /** Returns the blocks from entry {@code keep} on, last first. */
    void truncate(int keep) {
        while (count > keep && count > firstHeld) {
            pool.release(table[--count]);
        }
        count = Math.min(count, keep);
        firstHeld = Math.min(firstHeld, count);
    }

    KvView view(int slot) {
        return new KvView() {
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
                return pool.keys(slot, block(block));
            }

            @Override
            public MemorySegment values(int block) {
                return pool.values(slot, block(block));
            }
        };
    }

    void write(int slot, int pos, float[] k, int kOff, float[] v, int vOff) {
        int block = pos / pool.blockSize();
        if (pos < 0 || block >= count) {
            throw new IllegalStateException("position " + pos + " has no KV block (the sequence holds " + count
                    + " blocks of " + pool.blockSize() + "): ensureCapacity must cover a step's positions before it"
                    + " runs");
        }
        DType dtype = pool.dtype();
        int headDim = pool.headDim();
        long offset = KvRows.rowOffset(pos, pool.blockSize(), headDim, dtype);
        int id = block(block);
        KvRows.store(pool.keys(slot, id), offset, dtype, k, kOff, headDim);
        KvRows.store(pool.values(slot, id), offset, dtype, v, vOff, headDim);
    }
}
