package dev.afd.model.kv;

import dev.afd.model.kernels.KvView;
import dev.afd.model.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The KV cache of one sequence for layers that only ever read a bounded span of recent positions (sliding-window
 * layers): each layer keeps a ring of {@code ceil(span / blockSize) + 1} blocks, and block b of the sequence lives in
 * ring entry {@code b % ring}. Writing a position overwrites the block {@code ring} blocks before it, so a read is
 * correct as long as every position it reads lies within {@code span} positions of the newest one written. The memory
 * is fixed at construction, whatever the sequence's length.
 *
 * <p>Ownership and threading: as {@link SequenceKvCache}: the cache owns its blocks (freed by {@link #close()}); the
 * engine thread writes between reads, kernels read during a call.
 */
public final class WindowKvCache implements SequenceKv, AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final int blockSize;
    private final int headDim;
    private final DType dtype;
    private final int ring;
    private final long bytes;
    private final MemorySegment[][] keys;
    private final MemorySegment[][] values;
    private final KvView[] views;

    /**
     * @param span the most positions, up to the newest written, that a read may reach back over
     */
    public WindowKvCache(int layers, int headDim, DType dtype, int blockSize, int span) {
        if (layers < 1 || span < 1 || blockSize < 1) {
            throw new IllegalArgumentException("a window cache needs layers, span and block size >= 1, got "
                    + layers + ", " + span + " and " + blockSize);
        }
        this.blockSize = blockSize;
        this.headDim = headDim;
        this.dtype = KvRows.requireKvDtype(dtype);
        this.ring = Math.ceilDiv(span, blockSize) + 1;
        long blockBytes = KvRows.blockBytes(blockSize, headDim, dtype);
        this.bytes = 2L * layers * ring * blockBytes;
        this.keys = new MemorySegment[layers][ring];
        this.values = new MemorySegment[layers][ring];
        this.views = new KvView[layers];
        for (int l = 0; l < layers; l++) {
            for (int b = 0; b < ring; b++) {
                keys[l][b] = arena.allocate(blockBytes, 64);
                values[l][b] = arena.allocate(blockBytes, 64);
            }
            MemorySegment[] k = keys[l];
            MemorySegment[] v = values[l];
            views[l] = KvView.of(blockSize, dtype, block -> k[block % ring], block -> v[block % ring]);
        }
    }

    @Override
    public KvView layer(int layer) {
        return views[layer];
    }

    @Override
    public void write(int layer, int pos, float[] k, int kOff, float[] v, int vOff) {
        int entry = (pos / blockSize) % ring;
        long rowOffset = KvRows.rowOffset(pos, blockSize, headDim, dtype);
        KvRows.store(keys[layer][entry], rowOffset, dtype, k, kOff, headDim);
        KvRows.store(values[layer][entry], rowOffset, dtype, v, vOff, headDim);
    }

    /** Off-heap bytes held, fixed at construction. */
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
