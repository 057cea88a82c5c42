package dev.afd.model.kernels;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * A row-major {@code rows × cols} matrix of {@code dtype} elements in off-heap memory, little-endian: the shape the
 * kernels read weights and cached keys in. Read-only; any number of threads may read it at once.
 */
record RowMatrix(MemorySegment data, DType dtype, int rows, int cols) {
    RowMatrix {
        long needed = (long) rows * cols * dtype.byteSize();
        if (data.byteSize() < needed) {
            throw new IllegalArgumentException("a " + rows + "×" + cols + " " + dtype + " matrix needs " + needed
                    + " bytes but its memory has " + data.byteSize());
        }
    }

    static RowMatrix of(Tensor t) {
        if (t.rank() != 2) {
            throw new IllegalArgumentException("tensor " + t + " must be 2-D [out, in] to be used as a linear layer");
        }
        return new RowMatrix(t.data(), t.dtype(), t.rows(), t.cols());
    }

    /** Byte offset of element (row, col). */
    long offset(int row, int col) {
        return ((long) row * cols + col) * dtype.byteSize();
    }
}
