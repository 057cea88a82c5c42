package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.CollectingSink;
import dev.afd.attention.engine.EngineLoad;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.kv.KvGroup;
import dev.afd.attention.kv.KvGroupUsage;
import dev.afd.attention.scheduler.SchedulerConfig;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.GeneratedCheckpoint;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A cached prefix gives exactly the tokens and log-probabilities of computing it again: the kernels are
 * batch-invariant, so the keys and values a sequence takes from the cache are the very bits it would have computed.
 *
 * <p>Many requests built from a few shared prefixes (lengths at every offset from a block boundary, some prompts a
 * whole prefix of whole blocks, so the cache holds all of them) arrive concurrently from several threads; the token
 * budget cuts prefill chunks at every offset relative to the 4-position blocks. Each request must get, bit for bit,
 * what the same engine without prefix caching gives it.
 *
 * <p>On Step-3.5 (sliding window 16) the prompts run past the window, so sliding-window blocks are given back during
 * prefill and decode, cached as they go, and evicted from the sliding pool (sized for 4 running sequences) while their
 * full-attention twins stay: hits then take only the blocks the window needs, or are shortened to what it has.
 */
class PrefixCacheExactnessTest {
    private static final int BLOCK = 4;
    private static final int REQUESTS = 48;

    @RegisterExtension
    static final GeneratedCheckpoint models = GeneratedCheckpoint.of(ModelPreset.TINY, ModelPreset.STEP3P5_TINY);

    static Stream<Arguments> cases() {
        return Stream.of(Arguments.of(ModelPreset.TINY, 3), Arguments.of(ModelPreset.TINY, 4),
                Arguments.of(ModelPreset.TINY, 5), Arguments.of(ModelPreset.TINY, 7),
                Arguments.of(ModelPreset.TINY, 64),
                Arguments.of(ModelPreset.STEP3P5_TINY, 3), Arguments.of(ModelPreset.STEP3P5_TINY, 7),
                Arguments.of(ModelPreset.STEP3P5_TINY, 64));
    }

    @ParameterizedTest(name = "{0}, token budget {1}")
    @MethodSource("cases")
    void cachedPrefixesGiveTheTokensAndLogprobsOfRecomputingThem(ModelPreset preset, int budget) throws Exception {
        Checkpoint checkpoint = models.checkpoint(preset);
        boolean sliding = preset == ModelPreset.STEP3P5_TINY;
        List<GenerationRequest> requests = requests(checkpoint, new SplittableRandom(budget),
                sliding ? new int[] {13, 22, 31, 45} : new int[] {8, 13, 22, 31});
        EngineOptions options = EngineOptions.defaults().withBlockSize(BLOCK).withKvMemory(8L << 20)
                .withScheduler(new SchedulerConfig(budget, sliding ? 4 : 16));
        List<GenerationResult> recomputed = new ArrayList<>();
        run(checkpoint, options.withPrefixCaching(false), requests, recomputed);
        List<GenerationResult> cached = new ArrayList<>();
        EngineLoad load = run(checkpoint, options.withPrefixCaching(true), requests, cached);

        for (int i = 0; i < requests.size(); i++) {
            GenerationResult expected = recomputed.get(i);
            GenerationResult actual = cached.get(i);
            assertThat(actual.tokenIds()).as("tokens of request %d", i).containsExactly(expected.tokenIds());
            assertThat(bits(actual.logprobs())).as("log-probabilities of request %d", i)
                    .containsExactly(bits(expected.logprobs()));
            assertThat(actual.topLogprobs()).as("top log-probabilities of request %d", i)
                    .isEqualTo(expected.topLogprobs());
            assertThat(actual.finishReason()).isEqualTo(expected.finishReason());
        }
        assertThat(load.prefixHitTokens()).as("prompt tokens taken from the cache").isPositive();
        assertThat(load.prefixQueriedTokens()).isGreaterThan(load.prefixHitTokens());
        assertThat(load.kvBlocksUsed()).isZero();
        assertThat(load.kvGroups()).extracting(KvGroupUsage::group)
                .containsExactly(sliding ? new String[] {KvGroup.FULL, KvGroup.SLIDING} : new String[] {KvGroup.FULL});
    }

    /** Four prefixes of the given lengths (every offset from a block boundary), each with its own suffix. */
    private static List<GenerationRequest> requests(Checkpoint checkpoint, SplittableRandom random, int[] lengths) {
        int vocab = checkpoint.config().vocabSize();
        int[][] prefixes = IntStream.of(lengths).mapToObj(n -> random.ints(n, 0, vocab).toArray())
                .toArray(int[][]::new);
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            int[] prefix = prefixes[i % prefixes.length];
            int[] suffix = random.ints(i % 3 == 0 ? 0 : random.nextInt(1, 10), 0, vocab).toArray();
            int[] prompt = IntStream.concat(IntStream.of(prefix), IntStream.of(suffix)).toArray();
            requests.add(new GenerationRequest(prompt, random.nextInt(1, 9),
                    SamplingParams.defaults().withSeed((long) i).withTopLogprobs(2), true));
        }
        return requests;
    }

    /**
     * Runs every request on a fresh node, submitted from four threads in random order with short pauses between
     * them; fills {@code results} in request order and returns the node's load once it is idle.
     */
    private static EngineLoad run(Checkpoint checkpoint, EngineOptions options, List<GenerationRequest> requests,
            List<GenerationResult> results) throws Exception {
        try (AttentionNode node = AttentionNode.inProcess(checkpoint, 2, AttentionNode.Wire.exact(), options)) {
            List<Integer> order = new ArrayList<>(IntStream.range(0, requests.size()).boxed().toList());
            Collections.shuffle(order, new Random(1));
            List<CollectingSink> sinks = new ArrayList<>();
            requests.forEach(r -> sinks.add(new CollectingSink()));
            ExecutorService clients = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> submitted = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int thread = t;
                    submitted.add(clients.submit(() -> {
                        SplittableRandom pauses = new SplittableRandom(thread);
                        for (int k = thread; k < order.size(); k += 4) {
                            int i = order.get(k);
                            node.engine().submit("r" + i, requests.get(i), sinks.get(i));
                            Thread.sleep(pauses.nextInt(4));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : submitted) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } finally {
                clients.shutdownNow();
            }
            for (CollectingSink sink : sinks) {
                results.add(sink.result().get(120, TimeUnit.SECONDS));
            }
            return awaitIdle(node);
        }
    }

    /** The load once the engine published the end of the last step (it does so after the step's sinks ran). */
    static EngineLoad awaitIdle(AttentionNode node) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        EngineLoad load = node.engine().load();
        while ((load.kvBlocksUsed() > 0 || load.running() > 0 || load.waiting() > 0) && System.nanoTime() < end) {
            Thread.sleep(10);
            load = node.engine().load();
        }
        return load;
    }

    private static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }
}
