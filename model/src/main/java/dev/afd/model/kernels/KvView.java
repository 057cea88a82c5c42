package dev.afd.model.kernels;

import dev.afd.model.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.function.IntFunction;

/**
 * One layer's cached keys and values for one sequence, stored in fixed-size blocks: position {@code p} lives in
 * block {@code p / blockSize()} at row {@code p % blockSize()}, each row {@code headDim} elements of {@link #dtype()}
 * (F32 or BF16), little-endian.
 *
 * <p>Threading: the owner of the cache writes rows between engine steps; attention kernels only read.
 */
public interface KvView {
    int blockSize();

    DType dtype();

    /** Keys of block {@code block}: {@code blockSize × headDim} elements. */
    MemorySegment keys(int block);

    /** Values of block {@code block}: {@code blockSize × headDim} elements. */
    MemorySegment values(int block);

    /** A view whose blocks {@code keys} and {@code values} look up, at read time. */
    static KvView of(int blockSize, DType dtype, IntFunction<MemorySegment> keys, IntFunction<MemorySegment> values) {
        return new KvView() {
            @Override
            public int blockSize() {
                return blockSize;
            }

            @Override
            public DType dtype() {
                return dtype;
            }

            @Override
            public MemorySegment keys(int block) {
                return keys.apply(block);
            }

            @Override
            public MemorySegment values(int block) {
                return values.apply(block);
            }
        };
    }
}
