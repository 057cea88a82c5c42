package dev.afd.model.kv;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Halfs;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The row layout every KV cache shares with {@link dev.afd.model.kernels.KvView}: position {@code p} of a block of
 * {@code blockSize} rows is row {@code p % blockSize}, {@code headDim} little-endian elements of F32 or BF16.
 */
public final class KvRows {
    private KvRows() {}

    /** Returns {@code dtype} when a KV cache can store it (F32 or BF16). */
    public static DType requireKvDtype(DType dtype) {
        if (dtype != DType.F32 && dtype != DType.BF16) {
            throw new IllegalArgumentException("KV cache dtype must be f32 or bf16, got " + dtype);
        }
        return dtype;
    }

    /** Bytes of one block of one layer's keys (or values). */
    public static long blockBytes(int blockSize, int headDim, DType dtype) {
        return (long) blockSize * headDim * dtype.byteSize();
    }

    /** Byte offset of position {@code pos}'s row inside its block. */
    public static long rowOffset(int pos, int blockSize, int headDim, DType dtype) {
        return (long) (pos % blockSize) * headDim * dtype.byteSize();
    }

    /**
     * Stores {@code headDim} floats of {@code src} from {@code srcOff} at byte {@code offset} of {@code block};
     * BF16 rounds to nearest, ties to even.
     */
    public static void store(MemorySegment block, long offset, DType dtype, float[] src, int srcOff, int headDim) {
        if (dtype == DType.F32) {
            MemorySegment.copy(src, srcOff, block, Tensor.FLOAT_LE, offset, headDim);
        } else {
            for (int i = 0; i < headDim; i++) {
                block.set(Tensor.SHORT_LE, offset + 2L * i, Halfs.floatToBf16(src[srcOff + i]));
            }
        }
    }
}
