package dev.afd.ffn.cuda;

import java.util.Arrays;

/**
 * The three kernel variants a grouped MLP tile can take, with the numbers the host must know about each: how many
 * positions a tile may hold, and how many output columns one block computes (the grid's y extent divides the
 * output width by that). Mirrors the constants of {@code ffn.cu}, which exports its own copy of each path's numbers
 * ({@code ffn_path_*}); {@link FfnKernels} checks at load time that the two agree, since a tile with more rows than
 * the kernel takes would lose rows silently. The kernels' names are derived from the variant.
 */
enum TilePath {
    /** Tensor cores (WMMA), for experts with more than 8 rows: tiles of up to 128 positions. */
    MMA("mma", 128, 64, 128, 4 * 2 * 128 * 40 * 2),
    /** CUDA cores, bandwidth bound, for experts with 1 or 2 rows. */
    GEMV2("gemv2", 2, 32, 64, 0),
    /** CUDA cores, bandwidth bound, for experts with 3 to 8 rows. */
    GEMV8("gemv8", 8, 32, 64, 0);

    final String suffix;
    final int maxRows;
    final int gatedColumnsPerBlock;
    final int plainColumnsPerBlock;
    /** Dynamic shared memory per block (ffn.cu's MMA_SMEM_BYTES for the MMA kernels). */
    final int dynamicSharedBytes;

    TilePath(String suffix, int maxRows, int gatedColumnsPerBlock, int plainColumnsPerBlock,
            int dynamicSharedBytes) {
        this.suffix = suffix;
        this.maxRows = maxRows;
        this.gatedColumnsPerBlock = gatedColumnsPerBlock;
        this.plainColumnsPerBlock = plainColumnsPerBlock;
        this.dynamicSharedBytes = dynamicSharedBytes;
    }

    /** The name of {@code ffn.cu}'s export of this path's numbers. */
    String exportName() {
        return "ffn_path_" + suffix;
    }

    /**
     * Fails unless the kernels' export of this path's numbers, in {@code ffn.cu}'s order (most rows per tile, gated
     * and plain output columns per block, dynamic shared memory bytes), equals this path's.
     *
     * @throws IllegalStateException naming both sets of numbers
     */
    void requireMatches(int[] exported) {
        int[] host = {maxRows, gatedColumnsPerBlock, plainColumnsPerBlock, dynamicSharedBytes};
        if (!Arrays.equals(host, exported)) {
            throw new IllegalStateException("the kernels' " + exportName() + " is " + Arrays.toString(exported)
                    + " but TilePath." + name() + " says " + Arrays.toString(host) + " (rows per tile, gated and"
                    + " plain columns per block, shared memory bytes); make TilePath.java agree with ffn.cu");
        }
    }

    /** The path for an expert that got {@code rows} rows (at least 1). */
    static TilePath forGroup(int rows) {
        return rows <= GEMV2.maxRows ? GEMV2 : rows <= GEMV8.maxRows ? GEMV8 : MMA;
    }
}
