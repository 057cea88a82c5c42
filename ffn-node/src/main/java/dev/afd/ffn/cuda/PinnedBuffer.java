package dev.afd.ffn.cuda;

import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jcuda.Pointer;

/**
 * Page-locked host memory ({@code cuMemAllocHost}) for asynchronous copies, growable.
 *
 * <p>Why not Java arrays: an async copy reads or writes its host memory after the call that queued it has
 * returned, while JCuda pins a Java array only for the duration of that call and the GC may then move it. Pinned
 * memory stays put, and only pinned memory lets a copy overlap kernels. Java data goes in and out with plain
 * {@link MemorySegment#copy} before the upload is queued and after the download has completed.
 *
 * <p>Threading: the CUDA thread only. Contents are not kept when the buffer grows.
 */
final class PinnedBuffer implements AutoCloseable {
    private Pointer pointer;
    private MemorySegment segment = MemorySegment.NULL;

    /** A buffer of at least {@code bytes}; none is allocated for 0 until {@link #ensure} asks for more. */
    PinnedBuffer(long bytes) {
        ensure(bytes);
    }

    /**
     * Makes room for at least {@code bytes}, reallocating (by at least half again) when it is too small.
     *
     * @throws IllegalArgumentException beyond 2 GiB, the most one buffer view can span
     */
    PinnedBuffer ensure(long bytes) {
        if (bytes <= segment.byteSize()) {
            return this;
        }
        long size = Math.max(bytes, segment.byteSize() * 3 / 2);
        if (size > Integer.MAX_VALUE) {
            size = bytes;
        }
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a host staging buffer of " + bytes + " bytes is over the 2 GiB"
                    + " limit; send smaller frames");
        }
        close();
        Pointer p = new Pointer();
        cuMemAllocHost(p, size);
        pointer = p;
        segment = MemorySegment.ofBuffer(p.getByteBuffer(0, size).order(ByteOrder.LITTLE_ENDIAN));
        return this;
    }

    /** For CUDA copies. */
    Pointer pointer() {
        return pointer;
    }

    /** For Java reads and writes; valid until the next {@link #ensure} or {@link #close}. */
    MemorySegment segment() {
        return segment;
    }

    @Override
    public void close() {
        if (pointer != null) {
            cuMemFreeHost(pointer);
            pointer = null;
            segment = MemorySegment.NULL;
        }
    }
}
