package dev.afd.model.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.model.kernels.Attention;
import dev.afd.model.tensor.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A window cache reads back, through the attention kernel, exactly what a cache that keeps every position does, for
 * every read within its span of the newest position written, over many wraps of its ring; a read reaching further
 * back than the ring holds gets overwritten rows (so the comparison can fail). Its memory is fixed.
 */
class WindowKvCacheTest {
    private static final int HEAD_DIM = 8;
    private static final int BLOCK = 4;
    private static final int SPAN = 10;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void readsWithinTheSpanEqualAFullCache(DType dtype) {
        SplittableRandom random = new SplittableRandom(3);
        try (WindowKvCache ring = new WindowKvCache(2, HEAD_DIM, dtype, BLOCK, SPAN);
                SequenceKvCache full = new SequenceKvCache(2, HEAD_DIM, dtype, BLOCK)) {
            long bytes = ring.bytes();
            assertThat(bytes).isEqualTo(2L * 2 * (Math.ceilDiv(SPAN, BLOCK) + 1) * BLOCK * HEAD_DIM
                    * dtype.byteSize());
            for (int pos = 0; pos < 100; pos++) {
                for (int layer = 0; layer < 2; layer++) {
                    float[] k = row(random);
                    float[] v = row(random);
                    ring.write(layer, pos, k, 0, v, 0);
                    full.write(layer, pos, k, 0, v, 0);
                }
                int from = Math.max(0, pos + 1 - SPAN);
                for (int layer = 0; layer < 2; layer++) {
                    float[] q = row(random);
                    assertThat(attend(ring, layer, from, pos, q)).as("layer %d, positions %d..%d", layer, from, pos)
                            .containsExactly(attend(full, layer, from, pos, q));
                }
            }
            assertThat(ring.bytes()).as("fixed, whatever the length").isEqualTo(bytes);
            int ringPositions = (Math.ceilDiv(SPAN, BLOCK) + 1) * BLOCK;
            int tooFar = 99 - ringPositions;
            float[] q = row(random);
            assertThat(attend(ring, 0, tooFar, 99, q)).as("a read past the ring sees overwritten rows")
                    .isNotEqualTo(attend(full, 0, tooFar, 99, q));
        }
    }

    @Test
    void shapesAreChecked() {
        assertThatThrownBy(() -> new WindowKvCache(1, HEAD_DIM, DType.F32, BLOCK, 0)).hasMessageContaining("span");
    }

    /** One query's attention output over positions [from, to] of {@code layer}. */
    private static float[] attend(SequenceKv cache, int layer, int from, int to, float[] q) {
        float[] out = new float[HEAD_DIM];
        Attention.attend(q, 0, 1, HEAD_DIM, cache.layer(layer), from, to + 1, 0.35f, out, 0);
        return out;
    }

    private static float[] row(SplittableRandom random) {
        float[] r = new float[HEAD_DIM];
        for (int i = 0; i < HEAD_DIM; i++) {
            r[i] = (float) random.nextDouble(-1, 1);
        }
        return r;
    }
}
