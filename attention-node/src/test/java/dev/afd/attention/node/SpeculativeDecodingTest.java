package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.CollectingSink;
import dev.afd.attention.engine.EngineLoad;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.kv.KvPools;
import dev.afd.attention.scheduler.SchedulerConfig;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.family.KvLayout;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.GeneratedCheckpoint;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.LogitControls;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Speculative decoding with n-gram drafts gives, request for request, exactly the tokens, log-probabilities and
 * finish reasons of plain decoding: greedy ones, and seeded sampled ones too (a deterministic draft takes the draw a
 * plain token would). Prompts repeat a motif, so drafts are proposed and many accepted; stop ids are tokens the plain
 * run emits mid-way, max_tokens cut runs short, and the KV pool is small enough that sequences are preempted with
 * drafts pending. Every block is back at the end. On Step-3.5 (sliding window 16) both KV groups roll back rejected
 * drafts and the sliding one gives back what leaves the window.
 */
class SpeculativeDecodingTest {
    private static final int REQUESTS = 40;
    private static final int BLOCKS = 20;

    @RegisterExtension
    static final GeneratedCheckpoint models = GeneratedCheckpoint.of(ModelPreset.TINY, ModelPreset.STEP3P5_TINY);

    @ParameterizedTest
    @EnumSource(value = ModelPreset.class, names = {"TINY", "STEP3P5_TINY"})
    void ngramDraftsGiveExactlyThePlainTokensWithPreemptionsStopIdsAndMaxTokens(ModelPreset preset)
            throws Exception {
        Checkpoint checkpoint = models.checkpoint(preset);
        List<GenerationRequest> free = requests(checkpoint, new SplittableRandom(3));
        List<GenerationResult> unstopped = new ArrayList<>();
        run(checkpoint, SpeculativeConfig.off(), free, unstopped);
        List<GenerationRequest> requests = withStopIds(free, unstopped, new SplittableRandom(4));

        List<GenerationResult> plain = new ArrayList<>();
        run(checkpoint, SpeculativeConfig.off(), requests, plain);
        List<GenerationResult> speculative = new ArrayList<>();
        Run spec = run(checkpoint, SpeculativeConfig.ngram(3), requests, speculative);

        for (int i = 0; i < requests.size(); i++) {
            GenerationResult expected = plain.get(i);
            GenerationResult actual = speculative.get(i);
            assertThat(actual.tokenIds()).as("tokens of request %d", i).containsExactly(expected.tokenIds());
            assertThat(bits(actual.logprobs())).as("log-probabilities of request %d", i)
                    .containsExactly(bits(expected.logprobs()));
            assertThat(actual.topLogprobs()).as("top log-probabilities of request %d", i)
                    .isEqualTo(expected.topLogprobs());
            assertThat(actual.finishReason()).as("finish of request %d", i).isEqualTo(expected.finishReason());
        }
        assertThat(plain.stream().filter(r -> r.finishReason().equals("stop")).count()).as("stopped by a stop id")
                .isPositive();
        double drafted = counter(spec.metrics, "vllm:spec_decode_num_draft_tokens_total", "");
        double accepted = counter(spec.metrics, "vllm:spec_decode_num_accepted_tokens_total", "");
        assertThat(accepted).as("drafts accepted: the drafts were verified, not skipped").isPositive();
        assertThat(drafted).as("drafts verified, some rejected").isGreaterThan(accepted);
        assertThat(counter(spec.metrics, "vllm:spec_decode_num_accepted_tokens_per_pos_total", "position=\"0\""))
                .as("the first position's acceptances").isPositive();
        assertThat(spec.load.preemptions()).as("the pool is small enough to preempt").isPositive();
        assertThat(spec.load.kvBlocksUsed()).isZero();
        assertThat(spec.load.kvGroups()).allSatisfy(g -> assertThat(g.free()).isEqualTo(g.total()).isEqualTo(BLOCKS));
    }

    /**
     * KV memory for {@code blocks} blocks in every KV group of {@code config}: {@link KvPools} splits it into exactly
     * that many per group while the sliding group's cap for the running sequences is higher.
     */
    static long kvBytes(ModelConfig config, int blocks) {
        KvLayout layout = config.kvLayout();
        return blocks * KvPools.groupsOf(layout).stream().mapToLong(g -> BlockPool.bytesPerBlock(g.slots().length,
                layout.headDim(), DType.BF16, BlockPool.DEFAULT_BLOCK_SIZE)).sum();
    }

    record Run(EngineLoad load, String metrics) {}

    /** Every request submitted at once to a fresh node with a KV pool of BLOCKS blocks per group; results in request
     * order. */
    static Run run(Checkpoint checkpoint, SpeculativeConfig speculative, List<GenerationRequest> requests,
            List<GenerationResult> results) throws Exception {
        long kvBytes = kvBytes(checkpoint.config(), BLOCKS);
        EngineOptions options = new EngineOptions(DType.BF16, kvBytes, BlockPool.DEFAULT_BLOCK_SIZE,
                new SchedulerConfig(64, 16), 2, true, speculative);
        try (AttentionNode node = AttentionNode.inProcess(checkpoint, 2, AttentionNode.Wire.exact(), options)) {
            List<CollectingSink> sinks = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                CollectingSink sink = new CollectingSink();
                node.engine().submit("r" + i, requests.get(i), sink);
                sinks.add(sink);
            }
            for (CollectingSink sink : sinks) {
                results.add(sink.result().get(120, TimeUnit.SECONDS));
            }
            return new Run(PrefixCacheExactnessTest.awaitIdle(node), node.metrics().scrape());
        }
    }

    /**
     * Prompts that repeat a motif of 2-6 tokens 3-8 times (then up to 3 tokens of their own); greedy, greedy with a
     * frequency penalty, and seeded sampling with top-p and top-logprobs; 1-40 tokens.
     */
    private static List<GenerationRequest> requests(Checkpoint checkpoint, SplittableRandom random) {
        int vocab = checkpoint.config().vocabSize();
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            int[] motif = random.ints(random.nextInt(2, 7), 0, vocab).toArray();
            int[] prompt = IntStream.concat(IntStream.range(0, random.nextInt(3, 9)).flatMap(r -> IntStream.of(motif)),
                    random.ints(random.nextInt(0, 4), 0, vocab)).toArray();
            SamplingParams sampling = switch (i % 4) {
                case 0, 1 -> SamplingParams.greedy();
                case 2 -> SamplingParams.greedy().withPenalties(0, 0.3, 1);
                default -> SamplingParams.defaults().withTemperature(0.8).withTopP(0.9).withSeed((long) i)
                        .withTopLogprobs(2);
            };
            out.add(new GenerationRequest(prompt, random.nextInt(1, 41), sampling, true));
        }
        return out;
    }

    /** A third of the requests get a stop id: a token their unstopped run emits, so it ends them mid-way. */
    private static List<GenerationRequest> withStopIds(List<GenerationRequest> requests,
            List<GenerationResult> unstopped, SplittableRandom random) {
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            GenerationRequest r = requests.get(i);
            int[] tokens = unstopped.get(i).tokenIds();
            Set<Integer> stops = i % 3 == 0 && tokens.length > 2 ? Set.of(tokens[random.nextInt(1, tokens.length)])
                    : Set.of();
            out.add(new GenerationRequest(r.promptIds(), r.maxTokens(), r.sampling(), r.ignoreEos(), stops, 0, null,
                    LogitControls.NONE, GenerationRequest.NO_PROMPT_LOGPROBS));
        }
        return out;
    }

    /** The value of counter {@code name} in a scrape, on the series whose labels include {@code label}; 0 if none. */
    static double counter(String scrape, String name, String label) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} ([0-9.E]+)$").matcher(scrape);
        while (m.find()) {
            if (m.group(1).contains(label)) {
                return Double.parseDouble(m.group(2));
            }
        }
        return 0;
    }

    private static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }
}
