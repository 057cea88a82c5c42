package dev.afd.model.safetensors;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.util.Arrays;

/**
 * One entry of a safetensors header: a tensor's type, shape and byte range [begin, end) relative to the start of
 * the file's data region.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long elementCount() {
        return Tensor.elementCount(shape);
    }

    public long byteSize() {
        return end - begin;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
    }
}
