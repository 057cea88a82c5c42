package dev.afd.ffn.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;

import jcuda.driver.CUdeviceptr;

/**
 * Device memory that grows on demand: a workspace whose contents do not outlive one call.
 *
 * <p>Threading: the CUDA thread only. Growing frees the old allocation; callers grow buffers only between calls,
 * after the previous call's work has completed.
 */
final class DeviceBuffer implements AutoCloseable {
    /** Never allocate less: {@code cuMemAlloc(0)} is an error, and empty buffers still get passed to kernels. */
    private static final long MIN_BYTES = 256;

    private CUdeviceptr pointer;
    private long capacity;

    /** The buffer, at least {@code bytes} large (growing by at least half again). */
    CUdeviceptr ensure(long bytes) {
        if (pointer == null || bytes > capacity) {
            long size = Math.max(Math.max(bytes, MIN_BYTES), capacity * 3 / 2);
            close();
            CUdeviceptr p = new CUdeviceptr();
            cuMemAlloc(p, size);
            pointer = p;
            capacity = size;
        }
        return pointer;
    }

    long capacity() {
        return capacity;
    }

    @Override
    public void close() {
        if (pointer != null) {
            cuMemFree(pointer);
            pointer = null;
            capacity = 0;
        }
    }
}
