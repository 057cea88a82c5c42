/**
 * The ffn-node's CUDA backend: kernels of {@code src/main/cuda/ffn.cu}, loaded as cubin or PTX through JCuda's
 * driver API.
 *
 * <p>Entry points: {@link dev.afd.ffn.cuda.CudaProbe} (is a usable GPU there? asked once per process) and
 * {@link dev.afd.ffn.cuda.CudaFfnBackend} (the weights on the GPU, and {@code compute}).
 *
 * <p>Threading rule for the whole package: one platform thread per GPU ({@code CudaThread}) owns the CUDA context
 * and makes every CUDA call; JCuda objects never leave it. Host data crosses into asynchronous copies only through
 * pinned buffers ({@code PinnedBuffer}), never through Java arrays.
 */
package dev.afd.ffn.cuda;
