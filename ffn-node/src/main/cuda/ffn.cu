// Kernels of the ffn-node's CUDA backend, loaded as cubin or PTX through the driver API (no runtime API, no
// cuBLAS). Every entry point is extern "C" (unmangled names for cuModuleGetFunction) and takes only pointers and
// integers. Regenerate the committed binaries with build-ptx.sh after any change here.
//
// Layout, all row-major:
//   weights  bf16, one MLP per expert: gate [E, I, H], up [E, I, H], down [E, H, I]. The shared expert and a
//            dense layer's MLP are stacks with E = 1.
//   x        bf16 [rows, H]  the frame's activations (converted from f32 by ffn_to_bf16)
//   h        bf16 [P, I]     silu(gate x) * (up x) for P gathered rows, called positions; with a SwiGLU limit
//                            L > 0 (Step-3.5), min(silu(gate x), L) * clamp(up x, -L, L)
//   y        f32  [P, H]     down h
//
// The grouped GEMMs run over a list of tiles built on the host: tile t is the int triple
// tiles[3t .. 3t+2] = (expert, start, end) and covers positions [start, end) of one expert. Positions are sorted
// by expert, so each tile is a contiguous block of rows. Groups with at most GEMV_ROWS rows go to the GEMV kernels,
// which are bound by memory bandwidth and read every weight byte once per tile; larger groups go to the
// tensor-core kernels in tiles of at most MMA_ROWS rows. grid.x is the tile, grid.y a block of output columns.
//
// Requirements the host checks before using these kernels: H and I are multiples of 8 (16-byte loads of 8 bf16),
// every device pointer is 16-byte aligned (cuMemAlloc gives 256), compute capability 8.0 or newer (bf16 WMMA).

#include <cuda_bf16.h>
#include <cuda_pipeline.h>
#include <mma.h>

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

constexpr int THREADS = 256;  // every kernel here runs 8 warps per block

// ---- tensor-core path -------------------------------------------------------------------------------------
constexpr int MMA_ROWS = 128;      // positions per tile (block rows)
constexpr int MMA_B_ROWS = 128;    // weight rows per block
constexpr int MMA_K = 32;          // k per shared-memory stage
constexpr int MMA_LDS = MMA_K + 8; // padded row: 80 bytes keeps ldmatrix reads free of bank conflicts
constexpr int MMA_STAGE = MMA_ROWS * MMA_LDS;  // bf16 elements of one stage of A (and of B)
constexpr int MMA_STAGES = 4;      // depth of the cp.async ring
// Dynamic shared memory of the MMA kernels (80 KB: above the 48 KB default, so the host raises the limit).
constexpr int MMA_SMEM_BYTES = MMA_STAGES * 2 * MMA_STAGE * 2;
static_assert(MMA_ROWS == MMA_B_ROWS, "A and B stages share one size");
static_assert(2 * THREADS * 8 == MMA_ROWS * MMA_K, "each thread copies two 16-byte chunks of A and of B");
static_assert(MMA_SMEM_BYTES >= (THREADS / 32) * 256 * 4, "the epilogue scratch fits in the stages");
// Blocks per SM the MMA kernels are compiled for: 2 caps them at 128 registers per thread (65536 / (2 * 256)), so
// two blocks fit an SM's register file (at the cost of a 4-byte spill); without the cap sm_80 builds take 132 and
// run one block per SM. Shared
// memory allows two as well: 2 x 80 KB (+ 1 KB reserved per block) <= 164 KB on sm_80, 228 KB on sm_90.
constexpr int MMA_MIN_BLOCKS = 2;

// ---- bandwidth path ---------------------------------------------------------------------------------------
constexpr int GEMV_ROWS = 8;       // most positions per GEMV tile
constexpr int GEMV2_ROWS = 2;      // tiles of up to this many take a lighter variant
constexpr int GEMV_COLS = 8;       // weight rows per warp
constexpr int GEMV_KC = 1024;      // activation chunk staged in shared memory (8 rows x 1024 f32 = 32 KB)

// The numbers the host needs about each tile path, exported so that it can check its own copy (TilePath.java)
// against the kernels' at load time: {most positions per tile, output columns per block of the gated (gate/up)
// kernel, of the plain (down) kernel, dynamic shared memory bytes}. A tile with more positions than the first
// number would lose rows silently, so the two must never disagree.
extern "C" __constant__ int ffn_path_mma[4] = {MMA_ROWS, MMA_B_ROWS / 2, MMA_B_ROWS, MMA_SMEM_BYTES};
constexpr int GEMV_GATED_COLS = (THREADS / 32) * GEMV_COLS / 2;  // output columns per block, gate/up
constexpr int GEMV_PLAIN_COLS = (THREADS / 32) * GEMV_COLS;      // and down
extern "C" __constant__ int ffn_path_gemv2[4] = {GEMV2_ROWS, GEMV_GATED_COLS, GEMV_PLAIN_COLS, 0};
extern "C" __constant__ int ffn_path_gemv8[4] = {GEMV_ROWS, GEMV_GATED_COLS, GEMV_PLAIN_COLS, 0};

__device__ __forceinline__ float silu(float g) { return g / (1.0f + expf(-g)); }

// The gated activation of one element: silu(g) * u, each factor clamped when limit > 0 (0: no clamp), as the CPU
// backend's Mlp computes it.
__device__ __forceinline__ float swiglu(float g, float u, float limit) {
    float s = silu(g);
    if (limit > 0.0f) {
        s = fminf(s, limit);
        u = fminf(fmaxf(u, -limit), limit);
    }
    return s * u;
}

__device__ __forceinline__ const bf16* activation_row(const bf16* a, const int* row_index, int position,
                                                      int k_dim) {
    // gate/up read x through the gather index; down reads h, whose rows already are positions.
    const int row = row_index != nullptr ? row_index[position] : position;
    return a + (size_t) row * k_dim;
}

__device__ __forceinline__ void write_out(bf16* out, size_t i, float v) { out[i] = __float2bfloat16_rn(v); }
__device__ __forceinline__ void write_out(float* out, size_t i, float v) { out[i] = v; }

__device__ __forceinline__ uint4 load16(const bf16* p) { return __ldg(reinterpret_cast<const uint4*>(p)); }

// The two bf16 halves of a little-endian word, widened: element 2i sits in the low half, 2i+1 in the high half.
__device__ __forceinline__ float bf16_lo(unsigned w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float bf16_hi(unsigned w) { return __uint_as_float(w & 0xffff0000u); }

// Weight row n of tile column block col0 as seen by the kernels' B operand. Gated kernels interleave gate and up
// in groups of 16 rows (gate cols c..c+15, then up cols c..c+15), so that one warp holds the gate and the up
// accumulator of the same output elements and can apply silu(g) * u in registers.
template <bool GATED>
__device__ __forceinline__ const bf16* weight_row(const bf16* w0, const bf16* w1, size_t expert_base, int col0,
                                                  int b, int n_out, int k_dim) {
    int n;
    const bf16* w;
    if constexpr (GATED) {
        n = col0 + (b >> 5) * 16 + (b & 15);
        w = (b & 31) < 16 ? w0 : w1;
    } else {
        n = col0 + b;
        w = w0;
    }
    return n < n_out ? w + expert_base + (size_t) n * k_dim : nullptr;
}

// out[p, n] for the positions of one tile and one block of columns, on tensor cores (WMMA 16x16x16 bf16 -> f32).
// GATED: w0 = gate, w1 = up, out = h (bf16), 64 output columns per block.
// plain: w0 = down, out = y (f32), 128 output columns per block.
// 8 warps as 2 x 4; each warp owns 64 rows x 32 B-columns = 4 x 2 accumulators. A and B stream through an
// MMA_STAGES-deep ring of shared-memory stages filled by cp.async, so MMA_STAGES - 1 loads are in flight while
// the tensor cores work on the oldest one; one barrier per stage. Needs MMA_SMEM_BYTES of dynamic shared memory.
template <bool GATED, typename Out>
__device__ __forceinline__ void mma_tiles(const bf16* __restrict__ a, const int* __restrict__ row_index,
                                          const bf16* __restrict__ w0, const bf16* __restrict__ w1,
                                          Out* __restrict__ out, const int* __restrict__ tiles, int n_out,
                                          int k_dim, float limit) {
    // Stage s holds A at [2s * MMA_STAGE] and B at [(2s + 1) * MMA_STAGE]. After the main loop the first 8 KB
    // serve as the warps' epilogue scratch.
    extern __shared__ __align__(128) bf16 smem[];

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;
    const int warp_m = warp >> 2;  // 0..1: 64-row half of the tile
    const int warp_n = warp & 3;   // 0..3: 32 B-columns
    const int expert = tiles[3 * blockIdx.x];
    const int start = tiles[3 * blockIdx.x + 1];
    const int rows = tiles[3 * blockIdx.x + 2] - start;
    const int col0 = blockIdx.y * (GATED ? MMA_B_ROWS / 2 : MMA_B_ROWS);
    const size_t expert_base = (size_t) expert * n_out * k_dim;

    // Each thread copies two 16-byte chunks of A and two of B per stage: 128 rows x 4 chunks of 8 bf16 each.
    // Chunks outside the tile (rows past its end, columns past n_out, k past k_dim) are zero-filled; their source
    // address is then never read, but is pointed at w0 so that it stays a valid global address.
    const bf16* a_src[2];
    const bf16* b_src[2];
    int ld_offset[2];
    int ld_k[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int chunk = tid + i * THREADS;
        const int row = chunk >> 2;
        const int k = (chunk & 3) * 8;
        ld_offset[i] = row * MMA_LDS + k;
        ld_k[i] = k;
        a_src[i] = row < rows ? activation_row(a, row_index, start + row, k_dim) + k : nullptr;
        const bf16* w = weight_row<GATED>(w0, w1, expert_base, col0, row, n_out, k_dim);
        b_src[i] = w != nullptr ? w + k : nullptr;
    }
    const int k_tiles = (k_dim + MMA_K - 1) / MMA_K;
    auto issue_stage = [&](int kt) {
        bf16* as = smem + 2 * (kt % MMA_STAGES) * MMA_STAGE;
        bf16* bs = as + MMA_STAGE;
        const int k0 = kt * MMA_K;
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            // k_dim % 8 == 0, so a chunk is either wholly inside the row or wholly past its end.
            const bool a_ok = a_src[i] != nullptr && k0 + ld_k[i] < k_dim;
            const bool b_ok = b_src[i] != nullptr && k0 + ld_k[i] < k_dim;
            __pipeline_memcpy_async(as + ld_offset[i], a_ok ? a_src[i] + k0 : w0, 16, a_ok ? 0 : 16);
            __pipeline_memcpy_async(bs + ld_offset[i], b_ok ? b_src[i] + k0 : w0, 16, b_ok ? 0 : 16);
        }
    };

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            wmma::fill_fragment(acc[i][j], 0.0f);
        }
    }

    // Group g of cp.async copies is stage g; empty groups at the end keep that numbering, so waiting until at
    // most MMA_STAGES - 2 groups are pending always means "stage kt has landed".
#pragma unroll
    for (int kt = 0; kt < MMA_STAGES - 1; ++kt) {
        if (kt < k_tiles) {
            issue_stage(kt);
        }
        __pipeline_commit();
    }
    for (int kt = 0; kt < k_tiles; ++kt) {
        __pipeline_wait_prior(MMA_STAGES - 2);
        // After this barrier every thread's copies of stage kt are visible, and every warp has finished the
        // MMAs of stage kt-1, whose buffer the next copies overwrite.
        __syncthreads();
        if (kt + MMA_STAGES - 1 < k_tiles) {
            issue_stage(kt + MMA_STAGES - 1);
        }
        __pipeline_commit();
        const bf16* as = smem + 2 * (kt % MMA_STAGES) * MMA_STAGE;
        const bf16* bs = as + MMA_STAGE;
#pragma unroll
        for (int kk = 0; kk < MMA_K; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa[4];
            // B is W^T: W's rows (n) are B's columns, so W row-major [n][k] is B column-major.
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb[2];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                wmma::load_matrix_sync(fa[i], as + (warp_m * 64 + i * 16) * MMA_LDS + kk, MMA_LDS);
            }
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                wmma::load_matrix_sync(fb[j], bs + (warp_n * 32 + j * 16) * MMA_LDS + kk, MMA_LDS);
            }
#pragma unroll
            for (int i = 0; i < 4; ++i) {
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                    wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
                }
            }
        }
    }
    __pipeline_wait_prior(0);
    __syncthreads();

    // Epilogue: no copy is pending and every warp is past its last MMA, so the stages are free for per-warp
    // scratch. A fragment's element order is opaque, so it goes through a 16x16 row-major scratch tile to find
    // its (row, col); rows past the tile's end and columns past n_out are not written.
    float* scratch = reinterpret_cast<float*>(smem) + warp * 256;
    auto write_fragment = [&](const wmma::fragment<wmma::accumulator, 16, 16, 16, float>& f, int row0, int c0) {
        wmma::store_matrix_sync(scratch, f, 16, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
            const int r = row0 + (e >> 4);
            const int c = c0 + (e & 15);
            if (r < rows && c < n_out) {
                write_out(out, (size_t) (start + r) * n_out + c, scratch[e]);
            }
        }
        __syncwarp();
    };
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        if constexpr (GATED) {
            // Fragments of one type share their element-to-position mapping, so acc[i][0].x[t] (gate) and
            // acc[i][1].x[t] (up) are the same output element.
#pragma unroll
            for (int t = 0; t < acc[i][0].num_elements; ++t) {
                acc[i][0].x[t] = swiglu(acc[i][0].x[t], acc[i][1].x[t], limit);
            }
            write_fragment(acc[i][0], warp_m * 64 + i * 16, col0 + warp_n * 16);
        } else {
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                write_fragment(acc[i][j], warp_m * 64 + i * 16, col0 + warp_n * 32 + j * 16);
            }
        }
    }
}

// The same contract as mma_tiles for tiles of at most ROWS positions, on CUDA cores. Each warp streams
// GEMV_COLS weight rows (GATED: 4 gate rows and the 4 matching up rows; plain: 8 rows) with 16-byte loads, and
// each weight element meets every row of the tile, so weights are read once per tile. The tile's activations are
// staged as f32 in shared memory, GEMV_KC at a time, and shared by the block's 8 warps. ROWS is a template
// parameter because the accumulators live in registers: ROWS = 2 needs a quarter of ROWS = 8's, so twice the
// blocks fit on an SM and more weight loads are in flight, which is what decode (about one row per expert) needs.
template <bool GATED, int ROWS, typename Out>
__device__ __forceinline__ void gemv_tiles(const bf16* __restrict__ a, const int* __restrict__ row_index,
                                           const bf16* __restrict__ w0, const bf16* __restrict__ w1,
                                           Out* __restrict__ out, const int* __restrict__ tiles, int n_out,
                                           int k_dim, float limit) {
    __shared__ __align__(16) float xs[ROWS][GEMV_KC];
    constexpr int OUT_PER_WARP = GATED ? GEMV_COLS / 2 : GEMV_COLS;

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;
    const int expert = tiles[3 * blockIdx.x];
    const int start = tiles[3 * blockIdx.x + 1];
    const int rows = tiles[3 * blockIdx.x + 2] - start;
    const int col0 = (blockIdx.y * (THREADS / 32) + warp) * OUT_PER_WARP;
    const size_t expert_base = (size_t) expert * n_out * k_dim;

    const bf16* w_row[GEMV_COLS];
#pragma unroll
    for (int c = 0; c < GEMV_COLS; ++c) {
        const int n = col0 + c % OUT_PER_WARP;
        const bf16* w = GATED && c >= OUT_PER_WARP ? w1 : w0;
        w_row[c] = n < n_out ? w + expert_base + (size_t) n * k_dim : nullptr;
    }
    float acc[GEMV_COLS][ROWS];
#pragma unroll
    for (int c = 0; c < GEMV_COLS; ++c) {
#pragma unroll
        for (int r = 0; r < ROWS; ++r) {
            acc[c][r] = 0.0f;
        }
    }

    for (int k0 = 0; k0 < k_dim; k0 += GEMV_KC) {
        const int len = min(GEMV_KC, k_dim - k0);
        __syncthreads();  // every warp is done with the previous chunk
        for (int e = tid; e < ROWS * (GEMV_KC / 8); e += THREADS) {
            const int r = e / (GEMV_KC / 8);
            const int k = (e % (GEMV_KC / 8)) * 8;
            uint4 raw = make_uint4(0, 0, 0, 0);
            if (r < rows && k < len) {
                raw = *reinterpret_cast<const uint4*>(activation_row(a, row_index, start + r, k_dim) + k0 + k);
            }
            float4* dst = reinterpret_cast<float4*>(&xs[r][k]);
            dst[0] = make_float4(bf16_lo(raw.x), bf16_hi(raw.x), bf16_lo(raw.y), bf16_hi(raw.y));
            dst[1] = make_float4(bf16_lo(raw.z), bf16_hi(raw.z), bf16_lo(raw.w), bf16_hi(raw.w));
        }
        __syncthreads();
        for (int k = lane * 8; k < len; k += 32 * 8) {
            uint4 wv[GEMV_COLS];
#pragma unroll
            for (int c = 0; c < GEMV_COLS; ++c) {
                wv[c] = w_row[c] != nullptr ? load16(w_row[c] + k0 + k) : make_uint4(0, 0, 0, 0);
            }
#pragma unroll
            for (int r = 0; r < ROWS; ++r) {
                if (r < rows) {
                    const float4 lo = *reinterpret_cast<const float4*>(&xs[r][k]);
                    const float4 hi = *reinterpret_cast<const float4*>(&xs[r][k + 4]);
#pragma unroll
                    for (int c = 0; c < GEMV_COLS; ++c) {
                        float s = acc[c][r];
                        s = fmaf(bf16_lo(wv[c].x), lo.x, s);
                        s = fmaf(bf16_hi(wv[c].x), lo.y, s);
                        s = fmaf(bf16_lo(wv[c].y), lo.z, s);
                        s = fmaf(bf16_hi(wv[c].y), lo.w, s);
                        s = fmaf(bf16_lo(wv[c].z), hi.x, s);
                        s = fmaf(bf16_hi(wv[c].z), hi.y, s);
                        s = fmaf(bf16_lo(wv[c].w), hi.z, s);
                        s = fmaf(bf16_hi(wv[c].w), hi.w, s);
                        acc[c][r] = s;
                    }
                }
            }
        }
    }

    // Butterfly sums leave every lane with the totals; lane 0 writes.
#pragma unroll
    for (int c = 0; c < GEMV_COLS; ++c) {
#pragma unroll
        for (int r = 0; r < ROWS; ++r) {
#pragma unroll
            for (int offset = 16; offset > 0; offset >>= 1) {
                acc[c][r] += __shfl_xor_sync(0xffffffffu, acc[c][r], offset);
            }
        }
    }
    if (lane == 0) {
#pragma unroll
        for (int r = 0; r < ROWS; ++r) {
#pragma unroll
            for (int c = 0; c < OUT_PER_WARP; ++c) {
                const int n = col0 + c;
                if (r < rows && n < n_out) {
                    const float v = GATED ? swiglu(acc[c][r], acc[c + OUT_PER_WARP][r], limit) : acc[c][r];
                    write_out(out, (size_t) (start + r) * n_out + n, v);
                }
            }
        }
    }
}

// h[p, n] = swiglu(sum_k x[row_index[p], k] gate[e, n, k], sum_k x[row_index[p], k] up[e, n, k], limit) over the
// tiles' positions; n_out = I, k_dim = H. grid = (tiles, ceil(I / 64)).
extern "C" __global__ void __launch_bounds__(THREADS, MMA_MIN_BLOCKS)
ffn_gate_up_mma(const bf16* x, const int* row_index, const bf16* gate, const bf16* up, bf16* h, const int* tiles,
                int n_out, int k_dim, float limit) {
    mma_tiles<true>(x, row_index, gate, up, h, tiles, n_out, k_dim, limit);
}

// y[p, n] = sum_k h[p, k] down[e, n, k]; n_out = H, k_dim = I. grid = (tiles, ceil(H / 128)).
extern "C" __global__ void __launch_bounds__(THREADS, MMA_MIN_BLOCKS)
ffn_down_mma(const bf16* h, const bf16* down, float* y, const int* tiles, int n_out, int k_dim) {
    mma_tiles<false>(h, nullptr, down, nullptr, y, tiles, n_out, k_dim, 0.0f);
}

// ffn_gate_up_mma for tiles of at most GEMV2_ROWS = 2 (gemv2) or GEMV_ROWS = 8 (gemv8) positions.
// grid = (tiles, ceil(I / GEMV_GATED_COLS)).
extern "C" __global__ void __launch_bounds__(THREADS)
ffn_gate_up_gemv2(const bf16* x, const int* row_index, const bf16* gate, const bf16* up, bf16* h,
                  const int* tiles, int n_out, int k_dim, float limit) {
    gemv_tiles<true, GEMV2_ROWS>(x, row_index, gate, up, h, tiles, n_out, k_dim, limit);
}

extern "C" __global__ void __launch_bounds__(THREADS)
ffn_gate_up_gemv8(const bf16* x, const int* row_index, const bf16* gate, const bf16* up, bf16* h,
                  const int* tiles, int n_out, int k_dim, float limit) {
    gemv_tiles<true, GEMV_ROWS>(x, row_index, gate, up, h, tiles, n_out, k_dim, limit);
}

// ffn_down_mma for tiles of at most GEMV2_ROWS = 2 (gemv2) or GEMV_ROWS = 8 (gemv8) positions.
// grid = (tiles, ceil(H / GEMV_PLAIN_COLS)).
extern "C" __global__ void __launch_bounds__(THREADS)
ffn_down_gemv2(const bf16* h, const bf16* down, float* y, const int* tiles, int n_out, int k_dim) {
    gemv_tiles<false, GEMV2_ROWS>(h, nullptr, down, nullptr, y, tiles, n_out, k_dim, 0.0f);
}

extern "C" __global__ void __launch_bounds__(THREADS)
ffn_down_gemv8(const bf16* h, const bf16* down, float* y, const int* tiles, int n_out, int k_dim) {
    gemv_tiles<false, GEMV_ROWS>(h, nullptr, down, nullptr, y, tiles, n_out, k_dim, 0.0f);
}

// out[i] = bf16(in[i]), rounded to nearest even, for i < n. Any grid (grid-stride loop).
extern "C" __global__ void __launch_bounds__(THREADS)
ffn_to_bf16(const float* in, bf16* out, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        out[i] = __float2bfloat16_rn(in[i]);
    }
}

// The weighted scatter-add of expert outputs, written as a gather per output row so that it needs no atomics and
// adds in the CPU backend's order: out[r] = shared_out[shared_pos[r]] (or 0 when shared_pos[r] < 0), then
// + slot_weight[r*k+j] * y[slot_pos[r*k+j]] for j = 0..k-1, skipping slot_pos < 0. grid = rows.
extern "C" __global__ void __launch_bounds__(THREADS)
ffn_combine(const float* shared_out, const int* shared_pos, const float* y, const int* slot_pos,
            const float* slot_weight, float* out, int k, int hidden) {
    const int r = blockIdx.x;
    const int sp = shared_pos[r];
    for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
        float v = sp >= 0 ? shared_out[(size_t) sp * hidden + c] : 0.0f;
        for (int j = 0; j < k; ++j) {
            const int p = slot_pos[r * k + j];
            if (p >= 0) {
                v = fmaf(slot_weight[r * k + j], y[(size_t) p * hidden + c], v);
            }
        }
        out[(size_t) r * hidden + c] = v;
    }
}
