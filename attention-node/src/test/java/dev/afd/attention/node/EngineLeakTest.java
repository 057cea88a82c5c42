package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.CollectingSink;
import dev.afd.attention.engine.EngineLoad;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.scheduler.SchedulerConfig;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * 1,000 random requests with random aborts through the real engine (prefix caching on, its default; with and
 * without speculative decoding; on Step-3.5, whose sliding-window blocks are given back as sequences run) leave no KV
 * block held: every block of every KV group ends free or cached.
 */
class EngineLeakTest {
    private static final int BLOCKS = 80;

    @TempDir
    Path dir;

    @Test
    void noKvBlockLeaksAfterAThousandRandomRequestsWithRandomAborts() throws Exception {
        EngineLoad load = run(ModelPreset.TINY, new int[0][], SpeculativeConfig.off(), BLOCKS / 2);
        assertThat(load.preemptions()).as("the pool is small enough to force preemption").isPositive();
    }

    /**
     * With n-gram drafts (prompts that repeat themselves, so drafts are proposed and some accepted): rejected
     * drafts' blocks go back to the pool, and preempted sequences drop their drafts.
     */
    @Test
    void speculativeDecodingLeaksNoKvBlock() throws Exception {
        SplittableRandom random = new SplittableRandom(13);
        int[][] prefixes = IntStream.range(0, 5).mapToObj(p -> {
            int[] motif = random.ints(random.nextInt(2, 6), 0, 512).toArray();
            return IntStream.range(0, 8).flatMap(r -> IntStream.of(motif)).toArray();
        }).toArray(int[][]::new);
        EngineLoad load = run(ModelPreset.TINY, prefixes, SpeculativeConfig.ngram(3), BLOCKS / 2);
        assertThat(load.preemptions()).as("the pool is small enough to force preemption").isPositive();
    }

    /**
     * Half the prompts start with one of a few shared prefixes: blocks are shared, found cached after their holders
     * ended, and evicted when the pool runs short.
     */
    @ParameterizedTest
    @EnumSource(value = ModelPreset.class, names = {"TINY", "STEP3P5_TINY"})
    void sharedPrefixesAreHitAndEvictedAndLeaveNoBlockHeld(ModelPreset preset) throws Exception {
        SplittableRandom random = new SplittableRandom(11);
        int[][] prefixes = IntStream.range(0, 5).mapToObj(p -> random.ints(random.nextInt(16, 60), 0, 512)
                .toArray()).toArray(int[][]::new);
        EngineLoad load = run(preset, prefixes, SpeculativeConfig.off(), BLOCKS);
        assertThat(load.prefixHitTokens()).as("prompt tokens found cached").isPositive();
        assertThat(load.kvEvictions()).as("the pool is small enough to evict cached blocks").isPositive();
        assertThat(load.kvBlocksCached()).as("cached blocks are among the free ones").isPositive();
    }

    /**
     * Runs the requests (half of them after one of {@code prefixes}, when there are any) on {@code blocks} blocks
     * per KV group; the load once idle.
     */
    private EngineLoad run(ModelPreset preset, int[][] prefixes, SpeculativeConfig speculative, int blocks)
            throws Exception {
        ModelGenerator.generate(preset.config(false), ModelGenerator.Options.defaults(), dir);
        // Half of BLOCKS holds about 20 short sequences at once, so the scheduler preempts however fast it runs.
        long kvBytes = SpeculativeDecodingTest.kvBytes(preset.config(false), blocks);
        EngineOptions options = new EngineOptions(DType.BF16, kvBytes, BlockPool.DEFAULT_BLOCK_SIZE,
                new SchedulerConfig(256, 64), 2, true, speculative);
        SplittableRandom random = new SplittableRandom(5);
        try (Checkpoint c = Checkpoint.open(dir);
                AttentionNode node = AttentionNode.inProcess(c, 2, AttentionNode.Wire.exact(), options)) {
            int vocab = c.config().vocabSize();
            List<CollectingSink> sinks = new ArrayList<>();
            int aborted = 0;
            for (int i = 0; i < 1000; i++) {
                int[] prompt = random.ints(1 + random.nextInt(30), 0, vocab).toArray();
                if (prefixes.length > 0 && random.nextBoolean()) {
                    prompt = IntStream.concat(IntStream.of(prefixes[random.nextInt(prefixes.length)]),
                            IntStream.of(prompt)).toArray();
                }
                CollectingSink sink = new CollectingSink();
                node.engine().submit("r" + i, new GenerationRequest(prompt, 1 + random.nextInt(12),
                        SamplingParams.defaults().withSeed((long) i), random.nextBoolean()), sink);
                sinks.add(sink);
                if (random.nextInt(10) < 3) {
                    String victim = "r" + random.nextInt(i + 1);
                    if (node.engine().abort(victim)) {
                        aborted++;
                    }
                }
                if (i % 50 == 0) {
                    Thread.sleep(random.nextInt(5));
                }
            }
            int finishedByAbort = 0;
            for (CollectingSink s : sinks) {
                GenerationResult r = s.result().get(120, TimeUnit.SECONDS);
                assertThat(r.finishReason()).isIn("stop", "length", "abort");
                finishedByAbort += r.finishReason().equals("abort") ? 1 : 0;
            }
            // An abort of a request that finishes before the engine takes the abort is a no-op.
            assertThat(finishedByAbort).isPositive().isLessThanOrEqualTo(aborted);
            EngineLoad load = PrefixCacheExactnessTest.awaitIdle(node);
            assertThat(load.kvBlocksUsed()).isZero();
            assertThat(load.running()).isZero();
            assertThat(load.waiting()).isZero();
            assertThat(load.kvGroups()).allSatisfy(g -> {
                assertThat(g.free()).isEqualTo(g.total()).isEqualTo(blocks);
                assertThat(g.cached()).isLessThanOrEqualTo(blocks);
            });
            return load;
        }
    }
}
