package dev.afd.model.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A read-only, row-major, little-endian view of a tensor in off-heap memory.
 *
 * <p>Ownership: a tensor never owns its memory. Weight tensors view a file mapping that belongs to the
 * {@code Checkpoint} that mapped it, and stay valid until that checkpoint is closed. Any number of threads may read
 * a tensor at once; nobody writes to it.
 */
public final class Tensor {
    public static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat FLOAT_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final MemorySegment data;

    public Tensor(String name, DType dtype, long[] shape, MemorySegment data) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
        long expected = elementCount() * dtype.byteSize();
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + Arrays.toString(shape) + " "
                    + dtype + " needs " + expected + " bytes but its data has " + data.byteSize());
        }
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int axis) {
        return shape[axis];
    }

    public long[] shape() {
        return shape.clone();
    }

    public MemorySegment data() {
        return data;
    }

    public long elementCount() {
        return elementCount(shape);
    }

    /**
     * Elements of a tensor of {@code shape}: the product of its dimensions.
     *
     * @throws ArithmeticException when it does not fit a long
     */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Rows of a 2-D tensor ([out, in] for a linear layer). */
    public int rows() {
        requireRank(2);
        return Math.toIntExact(shape[0]);
    }

    /** Columns of a 2-D tensor. */
    public int cols() {
        requireRank(2);
        return Math.toIntExact(shape[1]);
    }

    /** The sub-tensor at {@code index} along the leading axis, e.g. one expert of a stacked [E, out, in] tensor. */
    public Tensor slice(int index) {
        if (shape.length < 2 || index < 0 || index >= shape[0]) {
            throw new IndexOutOfBoundsException("slice " + index + " of tensor '" + name + "' with shape "
                    + Arrays.toString(shape));
        }
        long[] sub = Arrays.copyOfRange(shape, 1, shape.length);
        long bytes = data.byteSize() / shape[0];
        return new Tensor(name + "[" + index + "]", dtype, sub, data.asSlice(bytes * index, bytes));
    }

    /** Element {@code flatIndex} (row-major) widened to f32. Scalar path: for references, norms and tests. */
    public float getFloat(long flatIndex) {
        return switch (dtype) {
            case BF16 -> Halfs.bf16ToFloat(data.get(SHORT_LE, flatIndex * 2));
            case F16 -> Halfs.f16ToFloat(data.get(SHORT_LE, flatIndex * 2));
            case F32 -> data.get(FLOAT_LE, flatIndex * 4);
        };
    }

    /** Copies elements [from, from+count) widened to f32 into {@code dst} at {@code dstOffset}. */
    public void copyTo(long from, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = getFloat(from + i);
        }
    }

    private void requireRank(int expected) {
        if (shape.length != expected) {
            throw new IllegalStateException("tensor '" + name + "' has rank " + shape.length + ", expected "
                    + expected);
        }
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
