package dev.afd.attention.kv;

import dev.afd.model.kv.KvRows;
import dev.afd.model.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;

/**
 * The attention node's KV memory: a fixed number of blocks, each holding {@code blockSize} positions of keys and
 * values for every layer at once, carved from one off-heap allocation made at start-up. A block id names, in every
 * layer, one key block and one value block ({@code blockSize × headDim} elements of F32 or BF16 each), so a
 * sequence needs one block table for all its layers.
 *
 * <p>Layout: block-major, then layer, then keys before values; each piece is 64-byte aligned when the head
 * dimension allows it.
 *
 * <p>Threading: {@link #allocate()} and {@link #free(int)} are called on the engine thread only (they are not
 * synchronised). Attention kernels on other threads read blocks through {@link #keys} and {@link #values} during a
 * step, while no block they read is freed. {@link #close()} releases the memory once no step can run any more.
 */
public final class BlockPool implements AutoCloseable {
    public static final int DEFAULT_BLOCK_SIZE = 16;
    /** What {@link #allocate()} returns when every block is in use. */
    public static final int NO_BLOCK = -1;
    private static final int MAX_BLOCKS = Integer.MAX_VALUE - 8;

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
    private final boolean[] inUse;

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
        this.inUse = new boolean[blocks];
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

    /** Takes a free block; {@link #NO_BLOCK} when none is left. */
    public int allocate() {
        if (freeCount == 0) {
            return NO_BLOCK;
        }
        int id = freeStack[--freeCount];
        inUse[id] = true;
        return id;
    }

    /**
     * Returns block {@code id} to the pool.
     *
     * @throws IllegalStateException when the block is already free
     */
    public void free(int id) {
        checkId(id);
        if (!inUse[id]) {
            throw new IllegalStateException("KV block " + id + " is already free: it was freed twice");
        }
        inUse[id] = false;
        freeStack[freeCount++] = id;
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

    public int used() {
        return total - freeCount;
    }

    public int free() {
        return freeCount;
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
