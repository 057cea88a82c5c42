package dev.afd.model.kv;

import dev.afd.model.kernels.KvView;
import dev.afd.model.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The KV cache of one sequence: for every layer, keys and values of each position in fixed-size off-heap blocks
 * that are allocated as the sequence grows.
 *
 * <p>Ownership and threading: the cache owns its blocks (one shared arena, freed by {@link #close()}). The engine
 * thread writes rows between steps; attention kernels on the kernel pool read them through {@link #layer(int)} during
 * a step. Nothing writes while a step reads.
 */
public final class SequenceKvCache implements SequenceKv, AutoCloseable {
    public static final int DEFAULT_BLOCK_SIZE = 16;

    private final Arena arena = Arena.ofShared();
    private final int numLayers;
    private final int headDim;
    private final DType dtype;
    private final int blockSize;
    private final long blockBytes;
    private final List<List<MemorySegment>> keyBlocks = new ArrayList<>();
    private final List<List<MemorySegment>> valueBlocks = new ArrayList<>();
    private final KvView[] views;

    public SequenceKvCache(int numLayers, int headDim, DType dtype) {
        this(numLayers, headDim, dtype, DEFAULT_BLOCK_SIZE);
    }

    public SequenceKvCache(int numLayers, int headDim, DType dtype, int blockSize) {
        this.numLayers = numLayers;
        this.headDim = headDim;
        this.dtype = KvRows.requireKvDtype(dtype);
        this.blockSize = blockSize;
        this.blockBytes = KvRows.blockBytes(blockSize, headDim, dtype);
        this.views = new KvView[numLayers];
        for (int l = 0; l < numLayers; l++) {
            List<MemorySegment> keys = new ArrayList<>();
            List<MemorySegment> values = new ArrayList<>();
            keyBlocks.add(keys);
            valueBlocks.add(values);
            views[l] = KvView.of(blockSize, dtype, keys::get, values::get);
        }
    }

    @Override
    public KvView layer(int layer) {
        return views[layer];
    }

    public DType dtype() {
        return dtype;
    }

    /** Stores key and value rows ({@code headDim} floats each) of position {@code pos} in layer {@code layer}. */
    @Override
    public void write(int layer, int pos, float[] k, int kOff, float[] v, int vOff) {
        int block = pos / blockSize;
        List<MemorySegment> keys = keyBlocks.get(layer);
        List<MemorySegment> values = valueBlocks.get(layer);
        while (keys.size() <= block) {
            keys.add(arena.allocate(blockBytes, 64));
            values.add(arena.allocate(blockBytes, 64));
        }
        long rowOffset = KvRows.rowOffset(pos, blockSize, headDim, dtype);
        KvRows.store(keys.get(block), rowOffset, dtype, k, kOff, headDim);
        KvRows.store(values.get(block), rowOffset, dtype, v, vOff, headDim);
    }

    /** Off-heap bytes held by this cache. */
    public long bytes() {
        long blocks = 0;
        for (int l = 0; l < numLayers; l++) {
            blocks += keyBlocks.get(l).size() + valueBlocks.get(l).size();
        }
        return blocks * blockBytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
