package dev.afd.attention.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.kv.BlockPool;
import dev.afd.model.family.CausalLm;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generate.Generator;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.sampling.SequenceSampler;
import dev.afd.model.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduler driving the real forward pass, with a pool small enough that sequences get preempted and
 * recomputed: greedy tokens must equal the offline generator's, which never preempts.
 */
class SchedulerModelTest {
    private static final int MAX_TOKENS = 20;

    @TempDir
    Path dir;

    @Test
    void preemptedAndChunkedSequencesGenerateWhatTheOfflineGeneratorDoes() throws Exception {
        Path path = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), new ModelGenerator.Options(5, DType.BF16, 1, false),
                path);
        try (Checkpoint checkpoint = Checkpoint.open(path)) {
            ModelConfig c = checkpoint.config();
            CausalLm model = checkpoint.model(new LocalFfn(checkpoint.weights()));
            SplittableRandom random = new SplittableRandom(9);
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                prompts.add(random.ints(random.nextInt(3, 41), 0, c.vocabSize()).toArray());
            }
            List<GenerationResult> expected = new Generator(model, Set.copyOf(checkpoint.eosTokenIds()), DType.F32, 512)
                    .generate(prompts.stream()
                            .map(p -> new GenerationRequest(p, MAX_TOKENS, SamplingParams.greedy(), true))
                            .toList());

            // A sequence needs at most 40 + 20 - 1 positions (15 blocks); 24 blocks cannot hold them all.
            try (BlockPool pool = new BlockPool(24, c.kvLayout().slots(), c.kvLayout().headDim(), DType.F32, 4)) {
                Scheduler scheduler = new Scheduler(pool, new SchedulerConfig(32, 8));
                Map<ScheduledSequence, SequenceSampler> samplers = new HashMap<>();
                List<ScheduledSequence> sequences = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++) {
                    ScheduledSequence s = scheduler.add("s" + i, prompts.get(i), MAX_TOKENS);
                    sequences.add(s);
                    samplers.put(s, new SequenceSampler(SamplingParams.greedy(), prompts.get(i), c.vocabSize()));
                }
                while (scheduler.hasWork()) {
                    Step step = scheduler.schedule();
                    assertThat(step.tokenCount()).isLessThanOrEqualTo(32);
                    float[][] logits = model.forward(step.chunks());
                    int[][] sampled = new int[logits.length][];
                    for (int i = 0; i < logits.length; i++) {
                        sampled[i] = logits[i] == null ? new int[0]
                                : new int[] {samplers.get(step.entries().get(i).sequence()).next(logits[i]).token()};
                    }
                    scheduler.complete(step, sampled);
                    for (Step.Entry e : step.entries()) {
                        if (e.sequence().generatedCount() == MAX_TOKENS) {
                            scheduler.finish(e.sequence());
                        }
                    }
                }
                assertThat(scheduler.stats().preemptions()).as("preemptions").isPositive();
                for (int i = 0; i < sequences.size(); i++) {
                    assertThat(sequences.get(i).generated()).as("tokens of sequence %d", i)
                            .containsExactly(expected.get(i).tokenIds());
                }
                assertThat(pool.used()).isZero();
            }
        }
    }
}
