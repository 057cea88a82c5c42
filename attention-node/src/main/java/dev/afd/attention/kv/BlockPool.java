package dev.afd.attention.kv;

import dev.afd.model.kv.KvRows;
import dev.afd.model.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The attention node's KV memory: a fixed number of blocks, each holding {@code blockSize} positions of keys and
 * values for every layer at once, carved from one off-heap allocation made at start-up. A block id names, in every
 * layer, one key block and one value block ({@code blockSize × headDim} elements of F32 or BF16 each), so a
 * sequence needs one block table for all its layers.
 *
 * <p>Layout: block-major, then layer, then keys before values; each piece is 64-byte aligned when the head
 * dimension allows it.
 *
 * <p>Blocks are reference-counted, so sequences with a common prefix share its blocks without copying them. A
 * block is in one of three states, and {@link #free()} + {@link #cached()} + {@link #used()} = {@link #total()}:
 * <ul>
 *   <li><b>used</b>: held by at least one sequence; never handed to anyone else while held;</li>
 *   <li><b>cached</b>: held by nobody, but full and {@linkplain #register registered} under the {@link BlockHash}
 *       of its contents, so a later sequence with the same prefix can {@linkplain #acquire take it up} again;</li>
 *   <li><b>free</b>: held by nobody and holding nothing anyone can find.</li>
 * </ul>
 * {@link #allocate()} takes a free block first and only when none is left evicts the least recently released cached
 * block: cached prefixes cost nothing until the memory is wanted.
 *
 * <p>Threading: every method but {@link #keys}, {@link #values} and the fixed sizes runs on the engine thread only
 * (nothing is synchronised). Attention kernels on other threads read blocks through {@link #keys} and
 * {@link #values} during a step, while no block they read is released. {@link #close()} releases the memory once no
 * step can run any more.
 */
public final class BlockPool implements AutoCloseable {
    public static final int DEFAULT_BLOCK_SIZE = 16;
    /** What {@link #allocate()} returns when every block is in use. */
    public static final int NO_BLOCK = -1;
    static final int MAX_BLOCKS = Integer.MAX_VALUE - 8;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment memory;
    private final int total;
    private final int numLayers;
    private final int headDim;
    private final DType dtype;
    private final int blockSize;
    private final long pieceBytes;
    /** Free block ids; the top of the stack is handed out next, so recently freed (cache-warm) blocks come first. */
    private final int[] freeStack;
    private int freeCount;
    /** Sequences holding each block; 0 for free and cached blocks. */
    private final int[] references;
    /** The registered contents of each block, null when it has none. */
    private final BlockHash[] hashes;
    private final Map<BlockHash, Integer> byHash = new HashMap<>();
    /** Cached blocks (registered, held by nobody), evicted oldest first. */
    private final BlockLru cachedLru;
    private int usedCount;
    private long evictions;

    /** A pool of exactly {@code blocks} blocks. */
    public BlockPool(int blocks, int numLayers, int headDim, DType dtype, int blockSize) {
        if (blocks < 1 || numLayers < 1 || headDim < 1 || blockSize < 1) {
            throw new IllegalArgumentException("a KV block pool needs at least one block, layer, head dimension and"
                    + " position per block; got blocks=" + blocks + ", layers=" + numLayers + ", head_dim="
                    + headDim + ", block size=" + blockSize);
        }
        this.total = blocks;
        this.numLayers = numLayers;
        this.headDim = headDim;
        this.dtype = KvRows.requireKvDtype(dtype);
        this.blockSize = blockSize;
        this.pieceBytes = KvRows.blockBytes(blockSize, headDim, dtype);
        this.memory = arena.allocate(blocks * bytesPerBlock(numLayers, headDim, dtype, blockSize), 64);
        this.freeStack = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            freeStack[i] = blocks - 1 - i;
        }
        this.freeCount = blocks;
        this.references = new int[blocks];
        this.hashes = new BlockHash[blocks];
        this.cachedLru = new BlockLru(blocks);
    }

    /**
     * A pool of as many blocks as fit in {@code bytes}.
     *
     * @throws IllegalArgumentException when not even one block fits
     */
    public static BlockPool fromMemory(long bytes, int numLayers, int headDim, DType dtype, int blockSize) {
        KvRows.requireKvDtype(dtype);
        long perBlock = bytesPerBlock(numLayers, headDim, dtype, blockSize);
        long blocks = bytes / perBlock;
        if (blocks < 1) {
            throw new IllegalArgumentException("a KV memory budget of " + bytes + " bytes holds no block: one block of "
                    + blockSize + " positions over " + numLayers + " layers (head_dim " + headDim + ", "
                    + dtype.name().toLowerCase(Locale.ROOT) + ") needs " + perBlock
                    + " bytes; raise the KV memory budget or lower the block size");
        }
        // Block ids index Java arrays, so the largest array length caps the count.
        return new BlockPool((int) Math.min(blocks, MAX_BLOCKS), numLayers, headDim, dtype, blockSize);
    }

    /** Bytes one block takes: keys and values of {@code blockSize} positions in every layer. */
    public static long bytesPerBlock(int numLayers, int headDim, DType dtype, int blockSize) {
        return 2L * numLayers * KvRows.blockBytes(blockSize, headDim, dtype);
    }

    /**
     * Takes a block for one holder: a free one, else the least recently released cached one (forgetting what it
     * cached); {@link #NO_BLOCK} when every block is used.
     */
    public int allocate() {
        int id;
        if (freeCount > 0) {
            id = freeStack[--freeCount];
        } else {
            id = cachedLru.takeOldest();
            if (id == NO_BLOCK) {
                return NO_BLOCK;
            }
            byHash.remove(hashes[id]);
            hashes[id] = null;
            evictions++;
        }
        references[id] = 1;
        usedCount++;
        return id;
    }

    /**
     * Gives up one holder's reference to block {@code id}. The last one makes the block cached when it is
     * registered (most recently released, so evicted last), free otherwise.
     *
     * @throws IllegalStateException when nobody holds the block
     */
    public void release(int id) {
        checkId(id);
        if (references[id] == 0) {
            throw new IllegalStateException("KV block " + id + " is already free: it was freed twice");
        }
        if (--references[id] > 0) {
            return;
        }
        usedCount--;
        if (hashes[id] != null) {
            cachedLru.append(id);
        } else {
            freeStack[freeCount++] = id;
        }
    }

    /** The block registered under {@code hash} (used or cached), or {@link #NO_BLOCK}. */
    public int lookup(BlockHash hash) {
        return byHash.getOrDefault(hash, NO_BLOCK);
    }

    /**
     * Adds a holder to a registered block (found by {@link #lookup}); a cached one becomes used and cannot be evicted
     * until released again.
     *
     * @throws IllegalStateException when the block is not registered
     */
    public void acquire(int id) {
        checkId(id);
        if (hashes[id] == null) {
            throw new IllegalStateException("KV block " + id + " holds no registered prefix: only blocks found by"
                    + " lookup can be shared");
        }
        if (references[id]++ == 0) {
            cachedLru.remove(id);
            usedCount++;
        }
    }

    /**
     * Registers used block {@code id}, now full, as holding the contents {@code hash} names, so later sequences find
     * it. Another block registered under the same hash first keeps the name (its twin was computed meanwhile); this
     * one then stays unregistered and becomes free when released.
     *
     * @throws IllegalStateException when the block is not used or is registered already
     */
    public void register(int id, BlockHash hash) {
        checkId(id);
        if (references[id] == 0 || hashes[id] != null) {
            throw new IllegalStateException("KV block " + id + " cannot be registered: it is "
                    + (references[id] == 0 ? "not held by any sequence" : "registered already"));
        }
        if (byHash.putIfAbsent(hash, id) == null) {
            hashes[id] = hash;
        }
    }

    /** Copies every layer's keys and values of block {@code from} into block {@code to}. */
    public void copy(int from, int to) {
        checkId(from);
        checkId(to);
        long bytes = 2L * numLayers * pieceBytes;
        MemorySegment.copy(memory, from * bytes, memory, to * bytes, bytes);
    }

    /** Sequences holding block {@code id}: 0 when it is free or cached. */
    public int references(int id) {
        checkId(id);
        return references[id];
    }

    /** Keys of block {@code block} in layer {@code layer}: {@code blockSize × headDim} elements. */
    public MemorySegment keys(int layer, int block) {
        return piece(layer, block, 0);
    }

    /** Values of block {@code block} in layer {@code layer}: {@code blockSize × headDim} elements. */
    public MemorySegment values(int layer, int block) {
        return piece(layer, block, 1);
    }

    private MemorySegment piece(int layer, int block, int kind) {
        if (layer < 0 || layer >= numLayers) {
            throw new IndexOutOfBoundsException("layer " + layer + " is outside [0, " + numLayers + ")");
        }
        checkId(block);
        return memory.asSlice((((long) block * numLayers + layer) * 2 + kind) * pieceBytes, pieceBytes);
    }

    private void checkId(int id) {
        if (id < 0 || id >= total) {
            throw new IndexOutOfBoundsException("KV block " + id + " is outside the pool [0, " + total + ")");
        }
    }

    /** Blocks held by at least one sequence. */
    public int used() {
        return usedCount;
    }

    /** Blocks holding nothing. */
    public int free() {
        return freeCount;
    }

    /** Blocks held by nobody that keep a registered prefix until evicted. */
    public int cached() {
        return cachedLru.size();
    }

    /** Blocks {@link #allocate()} can hand out now: free plus cached. */
    public int available() {
        return freeCount + cachedLru.size();
    }

    /** Cached blocks evicted to make room, since the pool was made. */
    public long evictions() {
        return evictions;
    }

    public int total() {
        return total;
    }

    public int blockSize() {
        return blockSize;
    }

    public int numLayers() {
        return numLayers;
    }

    public int headDim() {
        return headDim;
    }

    public DType dtype() {
        return dtype;
    }

    /** Off-heap bytes the pool holds. */
    public long bytes() {
        return memory.byteSize();
    }

    /** Frees the memory; no block may be read afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}
