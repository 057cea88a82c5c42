package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TopKTest {
    @Test
    void matchesAStableSortOnRandomDataWithManyTies() {
        Random random = new Random(3);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + random.nextInt(200);
            int k = random.nextInt(n + 1);
            int off = random.nextInt(4);
            float[] x = new float[off + n];
            for (int i = 0; i < x.length; i++) {
                x[i] = random.nextInt(10) - 5; // few distinct values: lots of ties
            }
            int[] expected = IntStream.range(0, n).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> -x[off + i]).thenComparingInt(i -> i))
                    .limit(k).mapToInt(Integer::intValue).toArray();
            assertThat(TopK.topK(x, off, n, k)).as("n=%d k=%d", n, k).containsExactly(expected);
        }
    }

    @Test
    void tiesGoToTheLowerIndex() {
        float[] x = {1, 3, 2, 3, 3, 0};
        assertThat(TopK.topK(x, 0, 6, 2)).containsExactly(1, 3);
        assertThat(TopK.topK(x, 0, 6, 4)).containsExactly(1, 3, 4, 2);
        assertThat(TopK.topK(x, 2, 4, 2)).containsExactly(1, 2); // relative to off
    }

    @Test
    void nanRanksLast() {
        float[] x = {Float.NaN, -1, Float.NaN, 5};
        assertThat(TopK.topK(x, 0, 4, 4)).containsExactly(3, 1, 0, 2);
    }

    @Test
    void edgeCases() {
        assertThat(TopK.topK(new float[] {1, 2}, 0, 2, 0)).isEmpty();
        assertThat(TopK.topK(new float[] {7}, 0, 1, 1)).containsExactly(0);
        assertThatThrownBy(() -> TopK.topK(new float[3], 0, 3, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TopK.topK(new float[3], 1, 3, 1)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
