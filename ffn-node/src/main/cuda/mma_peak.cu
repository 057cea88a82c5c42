// The tensor cores' bf16 throughput as WMMA reaches it, for the device check's "percent of peak": each warp
// keeps its operands in registers and chains PEAK_ACCUMULATORS independent 16x16x16 MMAs per iteration, so
// nothing but the tensor cores limits it. Not used when serving.

#include <cuda_bf16.h>
#include <mma.h>

using namespace nvcuda;

constexpr int PEAK_ACCUMULATORS = 8;  // independent chains per warp, enough to cover the MMA latency

// Runs iterations x PEAK_ACCUMULATORS MMAs per warp (2 * 16^3 flops each) and writes one value per thread so
// that the work cannot be optimised away. Any grid; 256 threads per block.
extern "C" __global__ void __launch_bounds__(256) mma_peak(float* out, int iterations) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[PEAK_ACCUMULATORS];
    // Operands depend on the thread so the compiler cannot fold the products.
    wmma::fill_fragment(a, __float2bfloat16_rn(1.0f / (1 + threadIdx.x)));
    wmma::fill_fragment(b, __float2bfloat16_rn(1.0f / (1 + blockIdx.x)));
#pragma unroll
    for (int q = 0; q < PEAK_ACCUMULATORS; ++q) {
        wmma::fill_fragment(acc[q], 0.0f);
    }
    for (int it = 0; it < iterations; ++it) {
#pragma unroll
        for (int q = 0; q < PEAK_ACCUMULATORS; ++q) {
            wmma::mma_sync(acc[q], a, b, acc[q]);
        }
    }
    float sum = 0.0f;
#pragma unroll
    for (int q = 0; q < PEAK_ACCUMULATORS; ++q) {
        sum += acc[q].x[0];
    }
    out[blockIdx.x * (size_t) blockDim.x + threadIdx.x] = sum;
}
