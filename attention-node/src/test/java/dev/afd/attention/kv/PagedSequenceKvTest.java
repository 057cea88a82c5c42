package dev.afd.attention.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.model.kernels.KvView;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.tensor.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PagedSequenceKvTest {
    private static final int LAYERS = 3;
    private static final int HEAD_DIM = 8;
    private static final int BLOCK = 4;

    @ParameterizedTest
    @EnumSource(names = {"F32", "BF16"})
    void rowsReadBackLikeTheContiguousCache(DType dtype) {
        int positions = 37;
        SplittableRandom random = new SplittableRandom(dtype.ordinal());
        try (BlockPool pool = new BlockPool(32, LAYERS, HEAD_DIM, dtype, BLOCK);
                SequenceKvCache expected = new SequenceKvCache(LAYERS, HEAD_DIM, dtype, BLOCK)) {
            // Scatter the table over the pool: another sequence holds every other block, and freed blocks hold
            // stale bytes.
            PagedSequenceKv other = new PagedSequenceKv(pool);
            other.ensureCapacity(8 * BLOCK);
            for (int b : other.table(0).blocks()) {
                pool.keys(0, b).fill((byte) 0x5A);
            }
            other.release();
            PagedSequenceKv interleaved = new PagedSequenceKv(pool);
            PagedSequenceKv paged = new PagedSequenceKv(pool);
            for (int blocks = 1; blocks <= Math.ceilDiv(positions, BLOCK); blocks++) {
                assertThat(interleaved.ensureCapacity(blocks * BLOCK)).isTrue();
                assertThat(paged.ensureCapacity(blocks * BLOCK)).isTrue();
            }
            for (int pos = 0; pos < positions; pos++) {
                for (int l = 0; l < LAYERS; l++) {
                    float[] k = randomRow(random);
                    float[] v = randomRow(random);
                    // Offsets into longer arrays, as the forward pass writes rows out of its batch.
                    float[] kBatch = new float[3 * HEAD_DIM];
                    float[] vBatch = new float[3 * HEAD_DIM];
                    System.arraycopy(k, 0, kBatch, HEAD_DIM, HEAD_DIM);
                    System.arraycopy(v, 0, vBatch, 2 * HEAD_DIM, HEAD_DIM);
                    paged.write(l, pos, kBatch, HEAD_DIM, vBatch, 2 * HEAD_DIM);
                    expected.write(l, pos, k, 0, v, 0);
                }
            }
            int[] table = paged.table(0).blocks();
            assertThat(table[1] - table[0]).as("the table is scattered over the pool").isNotEqualTo(1);
            for (int l = 0; l < LAYERS; l++) {
                KvView actual = paged.layer(l);
                KvView reference = expected.layer(l);
                assertThat(actual.blockSize()).isEqualTo(BLOCK);
                assertThat(actual.dtype()).isEqualTo(dtype);
                for (int b = 0; b < Math.ceilDiv(positions, BLOCK); b++) {
                    long rows = Math.min(BLOCK, positions - b * BLOCK);
                    long bytes = rows * HEAD_DIM * dtype.byteSize();
                    assertThat(actual.keys(b).asSlice(0, bytes).mismatch(reference.keys(b).asSlice(0, bytes)))
                            .as("keys of layer %d block %d", l, b).isEqualTo(-1);
                    assertThat(actual.values(b).asSlice(0, bytes).mismatch(reference.values(b).asSlice(0, bytes)))
                            .as("values of layer %d block %d", l, b).isEqualTo(-1);
                }
            }
        }
    }

    @Test
    void ensureCapacityTakesAllBlocksOrNone() {
        try (BlockPool pool = new BlockPool(5, LAYERS, HEAD_DIM, DType.F32, BLOCK)) {
            PagedSequenceKv a = new PagedSequenceKv(pool);
            PagedSequenceKv b = new PagedSequenceKv(pool);
            assertThat(a.ensureCapacity(3 * BLOCK - 1)).isTrue();
            assertThat(a.table(0).blocks()).hasSize(3);
            assertThat(a.capacity()).isEqualTo(3 * BLOCK);
            assertThat(a.ensureCapacity(3 * BLOCK)).as("already covered").isTrue();
            assertThat(pool.free()).isEqualTo(2);

            assertThat(b.ensureCapacity(2 * BLOCK + 1)).isFalse();
            assertThat(b.table(0).blocks()).isEmpty();
            assertThat(pool.free()).as("nothing partial was taken").isEqualTo(2);
            assertThat(b.ensureCapacity(2 * BLOCK)).isTrue();
            assertThat(pool.free()).isZero();

            a.release();
            a.release();
            assertThat(a.table(0).blocks()).isEmpty();
            assertThat(pool.free()).isEqualTo(3);
            b.release();
            assertThat(pool.used()).isZero();
        }
    }

    @Test
    void writingBeyondTheReservedBlocksIsRefused() {
        try (BlockPool pool = new BlockPool(4, LAYERS, HEAD_DIM, DType.F32, BLOCK)) {
            PagedSequenceKv kv = new PagedSequenceKv(pool);
            kv.ensureCapacity(BLOCK);
            float[] row = new float[HEAD_DIM];
            kv.write(0, BLOCK - 1, row, 0, row, 0);
            assertThatThrownBy(() -> kv.write(0, BLOCK, row, 0, row, 0))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("position " + BLOCK)
                    .hasMessageContaining("ensureCapacity");
            assertThatThrownBy(() -> kv.layer(0).keys(1)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    private static float[] randomRow(SplittableRandom random) {
        float[] row = new float[HEAD_DIM];
        for (int i = 0; i < HEAD_DIM; i++) {
            row[i] = (float) (random.nextGaussian() * 3);
        }
        return row;
    }
}
