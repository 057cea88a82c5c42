package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class MatMulTest {
    /** [n, k] pairs: sizes around and off the vector width, and a few larger ones split across threads. */
    private static final int[][] SHAPES = {
        {1, 1}, {7, 15}, {15, 17}, {17, 33}, {33, 7}, {100, 100}, {3, 1003}, {1003, 64}, {257, 1000}};
    /** One row (streamed) and many (widened blocks), with row tiles that end in 1, 2 and 3 rows. */
    private static final int[] ROWS = {1, 2, 3, 5, 11, 12, 17, 33, 64, 70, 100};

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (TestTensors.Memory memory : TestTensors.Memory.values()) {
            for (DType t : DType.values()) {
                for (int[] s : SHAPES) {
                    for (int rows : ROWS) {
                        cases.add(Arguments.of(memory, t, s[0], s[1], rows));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} [{2},{3}] x {4} rows")
    @MethodSource("cases")
    void matchesDoubleReference(TestTensors.Memory memory, DType t, int n, int k, int rows) {
        Random random = new Random(31L * n + 7L * k + rows + t.ordinal());
        try (Arena arena = memory.open()) {
            Tensor w = TestTensors.randomTensor(arena, t, random, n, k);
            float[] x = TestTensors.random(random, rows * k);
            float[] out = new float[rows * n];
            java.util.Arrays.fill(out, Float.NaN); // every output must be written
            MatMul.matmul(w, x, rows, out);
            float[] wv = TestTensors.values(w);
            assertClose(out, TestTensors.matmul(wv, n, k, x, rows), TestTensors.absMatmul(wv, n, k, x, rows));
        }
    }

    /** f32 accumulation: each result within 1e-5 of the sum of |products| (a dropped term is ~1/k of it). */
    static void assertClose(float[] actual, double[] expected, double[] scale) {
        for (int i = 0; i < expected.length; i++) {
            double tolerance = 1e-5 * scale[i] + 1e-30;
            assertThat((double) actual[i]).as("element %d", i).isCloseTo(expected[i],
                    org.assertj.core.data.Offset.offset(tolerance));
        }
    }

    /**
     * Batch invariance: a row's outputs are the same bits whether it is multiplied alone or inside any run of rows,
     * whichever tile (first, remainder) and path (one row streamed, many rows widened) it lands in.
     */
    @ParameterizedTest(name = "{0} [{1},{2}]")
    @MethodSource("invarianceCases")
    void eachRowIsTheSameBitsInEveryBatch(DType t, int n, int k) {
        int rows = 40;
        Random random = new Random(17L * n + k + t.ordinal());
        try (Arena arena = Arena.ofShared()) {
            Tensor w = TestTensors.randomTensor(arena, t, random, n, k);
            float[] x = TestTensors.random(random, rows * k);
            float[][] alone = new float[rows][n];
            for (int r = 0; r < rows; r++) {
                MatMul.matmul(w, java.util.Arrays.copyOfRange(x, r * k, (r + 1) * k), 1, alone[r]);
            }
            for (int count = 1; count <= rows; count++) {
                for (int first : new int[] {0, (count * 7) % (rows - count + 1), rows - count}) {
                    float[] out = new float[count * n];
                    MatMul.matmul(w, java.util.Arrays.copyOfRange(x, first * k, (first + count) * k), count, out);
                    for (int r = 0; r < count; r++) {
                        TestTensors.assertSameBits(java.util.Arrays.copyOfRange(out, r * n, (r + 1) * n),
                                alone[first + r], "row %d of rows [%d, %d)", first + r, first, first + count);
                    }
                }
            }
        }
    }

    /**
     * Several products in one dispatch give each product's own matmul bit for bit, for one row (streamed), a few and
     * many (widened), with one input or one each; weights in another arena go one at a time.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(DType.class)
    void joinedMatmulsEqualSeparateOnes(DType t) {
        Random random = new Random(23 + t.ordinal());
        int k = 67;
        int[] heights = {5, 128, 33};
        try (Arena arena = Arena.ofShared(); Arena other = Arena.ofShared()) {
            Tensor[] ws = new Tensor[heights.length];
            for (int i = 0; i < ws.length; i++) {
                ws[i] = TestTensors.randomTensor(i == 2 ? other : arena, t, random, heights[i], k);
            }
            for (int rows : new int[] {1, 3, 9, 40}) {
                float[] shared = TestTensors.random(random, rows * k);
                for (int weights : new int[] {2, 3}) {
                    for (boolean ownInputs : new boolean[] {false, true}) {
                        List<MatMul.Product> joined = new ArrayList<>();
                        for (int i = 0; i < weights; i++) {
                            int r = ownInputs ? rows + i : rows;
                            float[] x = ownInputs ? TestTensors.random(random, r * k) : shared;
                            joined.add(new MatMul.Product(ws[i], x, r, new float[r * heights[i]]));
                        }
                        MatMul.matmuls(joined);
                        for (MatMul.Product p : joined) {
                            float[] alone = new float[p.out().length];
                            MatMul.matmul(p.w(), p.x(), p.rows(), alone);
                            TestTensors.assertSameBits(p.out(), alone, "%s, %d rows, %d weights", p.w(), p.rows(),
                                    weights);
                        }
                    }
                }
            }
            assertThatThrownBy(() -> MatMul.matmuls(List.of(new MatMul.Product(ws[0], new float[k], 1,
                    new float[5]), new MatMul.Product(ws[1], new float[k], 2, new float[256]))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs x of at least 134");
        }
    }

    /**
     * A long inner dimension makes the many-row path cut the weights and the inputs into several blocks each (a
     * block holds a few hundred KiB): results stay right and each row the same bits as alone.
     */
    @Test
    void longRowsSpanSeveralBlocks() {
        int n = 13;
        int k = 20_011;
        int rows = 14;
        Random random = new Random(3);
        try (Arena arena = Arena.ofShared()) {
            Tensor w = TestTensors.randomTensor(arena, DType.BF16, random, n, k);
            float[] x = TestTensors.random(random, rows * k);
            float[] out = new float[rows * n];
            MatMul.matmul(w, x, rows, out);
            float[] wv = TestTensors.values(w);
            assertClose(out, TestTensors.matmul(wv, n, k, x, rows), TestTensors.absMatmul(wv, n, k, x, rows));
            float[] alone = new float[n];
            for (int r = 0; r < rows; r++) {
                MatMul.matmul(w, java.util.Arrays.copyOfRange(x, r * k, (r + 1) * k), 1, alone);
                TestTensors.assertSameBits(java.util.Arrays.copyOfRange(out, r * n, (r + 1) * n), alone, "row %d", r);
            }
        }
    }

    /** Every type; k below, at, off and well past the vector width, so loops, tails and both tile kinds run. */
    static Stream<Arguments> invarianceCases() {
        List<Arguments> cases = new ArrayList<>();
        for (DType t : DType.values()) {
            for (int[] s : new int[][] {{9, 7}, {13, 37}, {23, 64}, {70, 203}}) {
                cases.add(Arguments.of(t, s[0], s[1]));
            }
        }
        return cases.stream();
    }

    @Test
    void leavesOutputBeyondRowsAlone() {
        Random random = new Random(5);
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = TestTensors.randomTensor(arena, DType.BF16, random, 19, 40);
            for (int rows : new int[] {3, 20}) {
                float[] x = TestTensors.random(random, rows * 40 + 5);
                float[] out = new float[rows * 19 + 7];
                java.util.Arrays.fill(out, 42f);
                MatMul.matmul(w, x, rows, out);
                for (int i = rows * 19; i < out.length; i++) {
                    assertThat(out[i]).isEqualTo(42f);
                }
            }
        }
    }

    @Test
    void rejectsArraysThatAreTooShort() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = TestTensors.randomTensor(arena, DType.F32, new Random(1), 4, 8);
            assertThatThrownBy(() -> MatMul.matmul(w, new float[15], 2, new float[8]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("16");
            assertThatThrownBy(() -> MatMul.matmul(w, new float[16], 2, new float[7]))
                    .isInstanceOf(IllegalArgumentException.class);
            Tensor vector = TestTensors.randomTensor(arena, DType.F32, new Random(1), 8);
            assertThatThrownBy(() -> MatMul.matmul(vector, new float[8], 1, new float[1]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2-D");
        }
    }
}
