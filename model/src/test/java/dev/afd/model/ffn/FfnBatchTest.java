package dev.afd.model.ffn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FfnBatchTest {
    private static final Routing TWO_ROWS = new Routing(2, 1, new int[] {3, -1}, new float[] {0.5f, 0});

    @Test
    void aBatchChecksItsShapeWhenBuilt() {
        assertThatThrownBy(() -> new FfnBatch(0, new float[7], 4, new int[0], TWO_ROWS))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("2 rows of width 4 need 8 activations, got 7");
        assertThatThrownBy(() -> new FfnBatch(0, new float[8], 4, new int[] {2}, TWO_ROWS))
                .hasMessage("shared row 2 is outside the frame's 2 rows");
        assertThatThrownBy(() -> new FfnBatch(0, new float[8], 4, new int[] {1, 1}, TWO_ROWS))
                .hasMessage("shared row 1 is named twice");
        assertThatThrownBy(() -> new Routing(2, 1, new int[1], new float[2]))
                .hasMessageContaining("needs 2 entries, got 1 ids and 2 weights");
    }

    @Test
    void everyRowSharesAndDenseLayersRouteNothing() {
        FfnBatch all = FfnBatch.everyRow(5, new float[8], 4, TWO_ROWS);
        assertThat(all.sharedRows()).containsExactly(0, 1);
        assertThat(all.rows()).isEqualTo(2);
        assertThat(all.k()).isEqualTo(1);
        assertThat(TWO_ROWS.anyRouted()).isTrue();
        assertThat(Routing.none(3).anyRouted()).isFalse();
        assertThat(Routing.none(3).k()).isZero();
    }
}
