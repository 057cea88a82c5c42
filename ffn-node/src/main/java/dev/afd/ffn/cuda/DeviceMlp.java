package dev.afd.ffn.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import dev.afd.model.kernels.MlpWeights;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jcuda.driver.CUdeviceptr;

/**
 * A stack of SiLU-gated MLPs in GPU memory, bf16, laid out as {@code ffn.cu} reads them: gate and up
 * {@code [experts, inter, hidden]}, down {@code [experts, hidden, inter]}, with their SwiGLU clamp ({@code limit},
 * 0 for none; the kernels apply it as {@link MlpWeights} says). A dense MLP or the shared expert is a stack of one.
 *
 * <p>Ownership: owns its three allocations until {@link #free}. CUDA thread only.
 */
record DeviceMlp(CUdeviceptr gate, CUdeviceptr up, CUdeviceptr down, int experts, int inter, int hidden,
        float limit) {

    /** Bytes on the GPU. */
    long bytes() {
        return 3L * experts * inter * hidden * 2;
    }

    /** Uploads one MLP; on failure nothing stays allocated. */
    static DeviceMlp upload(MlpWeights w, PinnedBuffer staging) {
        CUdeviceptr[] p = copyAll(staging, w.gate(), w.gate().data(), w.up(), w.up().data(), w.down(),
                w.down().data());
        return new DeviceMlp(p[0], p[1], p[2], 1, w.intermediate(), w.hidden(), w.limit());
    }

    /**
     * Uploads experts {@code first .. first+count-1} of stacked {@code [E, ...]} tensors: contiguous slices, so only
     * this node's experts are read from the checkpoint. On failure nothing stays allocated.
     */
    static DeviceMlp upload(Tensor gate, Tensor up, Tensor down, float limit, int first, int count,
            PinnedBuffer staging) {
        CUdeviceptr[] p = copyAll(staging, gate, experts(gate, first, count), up, experts(up, first, count), down,
                experts(down, first, count));
        return new DeviceMlp(p[0], p[1], p[2], count, Math.toIntExact(gate.dim(1)), Math.toIntExact(gate.dim(2)),
                limit);
    }

    /** Uploads gate, up and down ({@code tensor, data} pairs); frees what it allocated when one fails. */
    private static CUdeviceptr[] copyAll(PinnedBuffer staging, Tensor gate, MemorySegment gateData, Tensor up,
            MemorySegment upData, Tensor down, MemorySegment downData) {
        Tensor[] tensors = {gate, up, down};
        MemorySegment[] data = {gateData, upData, downData};
        CUdeviceptr[] done = new CUdeviceptr[3];
        for (int i = 0; i < 3; i++) {
            try {
                done[i] = copy(tensors[i], data[i], staging);
            } catch (RuntimeException e) {
                for (int j = 0; j < i; j++) {
                    cuMemFree(done[j]);
                }
                throw e;
            }
        }
        return done;
    }

    private static MemorySegment experts(Tensor stacked, int first, int count) {
        long perExpert = stacked.data().byteSize() / stacked.dim(0);
        return stacked.data().asSlice(perExpert * first, perExpert * count);
    }

    /** Synchronous upload through the pinned staging buffer, one buffer-full at a time. */
    private static CUdeviceptr copy(Tensor t, MemorySegment src, PinnedBuffer staging) {
        if (t.dtype() != DType.BF16) {
            throw new IllegalArgumentException(t + " is not bf16"); // checked before any upload starts
        }
        CUdeviceptr dst = new CUdeviceptr();
        cuMemAlloc(dst, src.byteSize());
        try {
            long chunk = staging.segment().byteSize();
            for (long off = 0; off < src.byteSize(); off += chunk) {
                long n = Math.min(chunk, src.byteSize() - off);
                MemorySegment.copy(src, off, staging.segment(), 0, n);
                cuMemcpyHtoD(dst.withByteOffset(off), staging.pointer(), n);
            }
        } catch (RuntimeException e) {
            cuMemFree(dst);
            throw e;
        }
        return dst;
    }

    void free() {
        cuMemFree(gate);
        cuMemFree(up);
        cuMemFree(down);
    }
}
