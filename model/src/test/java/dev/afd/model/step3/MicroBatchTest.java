package dev.afd.model.step3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.family.CausalLm;
import dev.afd.model.family.Chunk;
import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Splitting a step into micro-batches changes the schedule, never a single bit of the result. */
class MicroBatchTest {
    @TempDir
    Path dir;

    @Test
    void everyMicroBatchCountGivesBitIdenticalLogits() throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        try (Checkpoint c = Checkpoint.open(dir)) {
            CausalLm model = c.model(new LocalFfn(c.weights()));
            float[][] expected = run(model, c, 1);
            for (int m = 2; m <= 4; m++) {
                float[][] actual = run(model, c, m);
                for (int i = 0; i < expected.length; i++) {
                    assertThat(firstDifference(actual[i], expected[i])).as("m=%d chunk %d: first differing logit", m, i)
                            .isEqualTo(-1);
                }
            }
        }
    }

    /** Index of the first element whose bits differ, -1 when none (both null counts as equal). */
    static int firstDifference(float[] a, float[] b) {
        if (a == null || b == null) {
            return a == b ? -1 : 0;
        }
        return java.util.Arrays.mismatch(a, b);
    }

    /** Two steps over five sequences: a mixed prefill step, then a decode step. */
    private static float[][] run(CausalLm model, Checkpoint c, int m) {
        SplittableRandom random = new SplittableRandom(3);
        int[] lengths = {1, 9, 4, 17, 2};
        List<SequenceKvCache> caches = new ArrayList<>();
        try {
            List<Chunk> prefill = new ArrayList<>();
            for (int len : lengths) {
                SequenceKvCache kv = new SequenceKvCache(c.config().kvLayout().slots(), c.config().kvLayout().headDim(), DType.F32);
                caches.add(kv);
                prefill.add(new Chunk(kv, random.ints(len, 0, c.config().vocabSize()).toArray(), 0,
                        len % 2 == 1));
            }
            float[][] first = model.forward(prefill, m);
            List<Chunk> decode = new ArrayList<>();
            for (int i = 0; i < lengths.length; i++) {
                decode.add(new Chunk(caches.get(i), new int[] {i + 1}, lengths[i], true));
            }
            float[][] second = model.forward(decode, m);
            float[][] all = new float[first.length + second.length][];
            System.arraycopy(first, 0, all, 0, first.length);
            System.arraycopy(second, 0, all, first.length, second.length);
            return all;
        } finally {
            caches.forEach(SequenceKvCache::close);
        }
    }
}
