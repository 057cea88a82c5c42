package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.afd.model.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AttentionTest {
    /** A block cache over one arena; {@code keys}/{@code values} hold the stored (rounded) values for references. */
    record Cache(int blockSize, DType dtype, MemorySegment[] keyBlocks, MemorySegment[] valueBlocks,
            float[] keys, float[] values) implements KvView {
        static Cache random(Arena arena, DType t, int blockSize, int blocks, int headDim, Random random) {
            int perBlock = blockSize * headDim;
            float[] keys = TestTensors.random(random, blocks * perBlock);
            float[] values = TestTensors.random(random, blocks * perBlock);
            MemorySegment[] k = new MemorySegment[blocks];
            MemorySegment[] v = new MemorySegment[blocks];
            for (int b = 0; b < blocks; b++) {
                k[b] = block(arena, t, keys, b * perBlock, perBlock);
                v[b] = block(arena, t, values, b * perBlock, perBlock);
            }
            return new Cache(blockSize, t, k, v, keys, values);
        }

        /** Stores a block and overwrites the reference copy with what was actually stored. */
        private static MemorySegment block(Arena arena, DType t, float[] all, int from, int count) {
            float[] part = java.util.Arrays.copyOfRange(all, from, from + count);
            var tensor = TestTensors.tensor(arena, t, part, count);
            System.arraycopy(TestTensors.values(tensor), 0, all, from, count);
            return tensor.data();
        }

        @Override
        public MemorySegment keys(int block) {
            return keyBlocks[block];
        }

        @Override
        public MemorySegment values(int block) {
            return valueBlocks[block];
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (TestTensors.Memory memory : TestTensors.Memory.values()) {
            for (DType t : new DType[] {DType.F32, DType.BF16}) {
                for (int[] hd : new int[][] {{1, 16}, {3, 24}, {8, 64}, {5, 40}}) {
                    for (int[] bl : new int[][] {{4, 1}, {4, 5}, {16, 16}, {16, 37}, {8, 100}}) {
                        cases.add(Arguments.of(memory, t, hd[0], hd[1], bl[0], bl[1]));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} heads={2} headDim={3} block={4} len={5}")
    @MethodSource("cases")
    void matchesDoubleReference(TestTensors.Memory memory, DType t, int heads, int headDim, int blockSize, int len) {
        Random random = new Random(heads * 1000L + headDim * 10L + len);
        int blocks = (len + blockSize - 1) / blockSize;
        try (Arena arena = memory.open()) {
            Cache cache = Cache.random(arena, t, blockSize, blocks, headDim, random);
            int qOff = 3;
            int outOff = 2;
            float[] q = TestTensors.random(random, qOff + heads * headDim);
            for (int i = 0; i < q.length; i++) {
                q[i] *= 4; // peaky enough that a wrong score shows
            }
            float scale = (float) (1 / Math.sqrt(headDim));
            float[] out = new float[outOff + heads * headDim + 1];
            out[0] = 7;
            out[out.length - 1] = 9;
            Attention.attend(q, qOff, heads, headDim, cache, len, scale, out, outOff);
            for (int h = 0; h < heads; h++) {
                double[] expected = reference(q, qOff + h * headDim, headDim, cache, 0, len, scale);
                for (int d = 0; d < headDim; d++) {
                    assertThat((double) out[outOff + h * headDim + d]).as("head %d dim %d", h, d)
                            .isCloseTo(expected[d], within(2e-6));
                }
            }
            assertThat(out[0]).isEqualTo(7f);
            assertThat(out[out.length - 1]).isEqualTo(9f);
        }
    }

    static Stream<Arguments> windows() {
        List<Arguments> cases = new ArrayList<>();
        for (DType t : new DType[] {DType.F32, DType.BF16}) {
            // A window starting inside a block, at a block boundary, at the last position, and one block wide.
            for (int[] w : new int[][] {{4, 37, 5}, {4, 37, 8}, {16, 37, 36}, {16, 48, 32}, {8, 100, 77}}) {
                cases.add(Arguments.of(t, w[0], w[1], w[2]));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} block={1} positions [{3}, {2})")
    @MethodSource("windows")
    void slidingWindowMatchesDoubleReference(DType t, int blockSize, int len, int from) {
        int heads = 5;
        int headDim = 40;
        Random random = new Random(len * 31L + from);
        try (Arena arena = Arena.ofConfined()) {
            Cache cache = Cache.random(arena, t, blockSize, (len + blockSize - 1) / blockSize, headDim, random);
            float[] q = TestTensors.random(random, heads * headDim);
            for (int i = 0; i < q.length; i++) {
                q[i] *= 4;
            }
            float scale = (float) (1 / Math.sqrt(headDim));
            float[] out = new float[heads * headDim];
            Attention.attend(q, 0, heads, headDim, cache, from, len, scale, out, 0);
            for (int h = 0; h < heads; h++) {
                double[] expected = reference(q, h * headDim, headDim, cache, from, len, scale);
                double[] whole = reference(q, h * headDim, headDim, cache, 0, len, scale);
                for (int d = 0; d < headDim; d++) {
                    assertThat((double) out[h * headDim + d]).as("head %d dim %d", h, d)
                            .isCloseTo(expected[d], within(2e-6));
                }
                // The window must change the answer, or this test could not tell a window from none.
                assertThat(java.util.Arrays.equals(expected, whole)).isFalse();
            }
        }
    }

    @Test
    void rejectsAnEmptyWindow() {
        try (Arena arena = Arena.ofConfined()) {
            Cache cache = Cache.random(arena, DType.F32, 4, 2, 8, new Random(1));
            assertThatThrownBy(() -> Attention.attend(new float[8], 0, 1, 8, cache, 5, 5, 1f, new float[8], 0))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void rejectsAnEmptyCache() {
        try (Arena arena = Arena.ofConfined()) {
            Cache cache = Cache.random(arena, DType.F32, 4, 1, 8, new Random(1));
            assertThatThrownBy(() -> Attention.attend(new float[8], 0, 1, 8, cache, 0, 1f, new float[8], 0))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    private static double[] reference(float[] q, int off, int headDim, Cache cache, int from, int len, float scale) {
        double[] scores = new double[len];
        double max = Double.NEGATIVE_INFINITY;
        for (int p = from; p < len; p++) {
            double dot = 0;
            for (int d = 0; d < headDim; d++) {
                dot += (double) q[off + d] * cache.keys[p * headDim + d];
            }
            scores[p] = dot * scale;
            max = Math.max(max, scores[p]);
        }
        double sum = 0;
        for (int p = from; p < len; p++) {
            scores[p] = Math.exp(scores[p] - max);
            sum += scores[p];
        }
        double[] out = new double[headDim];
        for (int p = from; p < len; p++) {
            for (int d = 0; d < headDim; d++) {
                out[d] += scores[p] / sum * cache.values[p * headDim + d];
            }
        }
        return out;
    }
}
