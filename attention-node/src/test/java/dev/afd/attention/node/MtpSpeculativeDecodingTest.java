package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Speculative decoding with MTP drafts on {@code step3p5-tiny} (one MTP layer, sliding window 16) gives, request for
 * request, exactly the tokens, log-probabilities and finish reasons of plain decoding, greedy and seeded sampled. The
 * checkpoint is the MTP-agreeing fixture, so drafts are accepted (the count proves they were verified); prompts and
 * generations run past the MTP caches' ring, prefix caching skips prompt positions, and the pool is small enough to
 * preempt sequences with drafts pending. Every block is back at the end.
 */
class MtpSpeculativeDecodingTest {
    private static final int REQUESTS = 24;

    @TempDir
    static Path dir;

    static Checkpoint checkpoint;

    @BeforeAll
    static void agreeingModel() throws Exception {
        ModelGenerator.generate(ModelPreset.STEP3P5_TINY.config(false),
                ModelGenerator.Options.defaults().withMtpAgreeing(), dir);
        checkpoint = Checkpoint.open(dir);
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    @ParameterizedTest(name = "K = {0}")
    @ValueSource(ints = {1, 3})
    void mtpDraftsGiveExactlyThePlainTokens(int k) throws Exception {
        List<GenerationRequest> requests = requests(new SplittableRandom(5));
        List<GenerationResult> plain = new ArrayList<>();
        SpeculativeDecodingTest.run(checkpoint, SpeculativeConfig.off(), requests, plain);
        List<GenerationResult> speculative = new ArrayList<>();
        SpeculativeDecodingTest.Run spec = SpeculativeDecodingTest.run(checkpoint, SpeculativeConfig.mtp(k), requests,
                speculative);

        for (int i = 0; i < requests.size(); i++) {
            GenerationResult expected = plain.get(i);
            GenerationResult actual = speculative.get(i);
            assertThat(actual.tokenIds()).as("tokens of request %d", i).containsExactly(expected.tokenIds());
            assertThat(actual.logprobs()).as("log-probabilities of request %d", i).containsExactly(expected.logprobs());
            assertThat(actual.finishReason()).as("finish of request %d", i).isEqualTo(expected.finishReason());
        }
        double drafted = SpeculativeDecodingTest.counter(spec.metrics(), "vllm:spec_decode_num_draft_tokens_total", "");
        double accepted = SpeculativeDecodingTest.counter(spec.metrics(), "vllm:spec_decode_num_accepted_tokens_total",
                "");
        assertThat(accepted).as("MTP drafts accepted: they were verified, not skipped").isPositive();
        assertThat(accepted / drafted).as("the fixture's MTP layer agrees with the model most of the time")
                .isGreaterThan(0.5);
        assertThat(spec.load().preemptions()).as("the pool is small enough to preempt").isPositive();
        assertThat(spec.load().kvBlocksUsed()).isZero();
        assertThat(spec.load().kvGroups()).allSatisfy(g -> assertThat(g.free()).isEqualTo(g.total()));
    }

    @Test
    void mtpIsRefusedForAModelWithoutMtpLayers(@TempDir Path step3) throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), step3);
        try (Checkpoint c = Checkpoint.open(step3)) {
            EngineOptions options = EngineOptions.defaults().withSpeculative(SpeculativeConfig.mtp(2));
            assertThatThrownBy(() -> AttentionNode.inProcess(c, 1, AttentionNode.Wire.exact(), options).close())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("--speculative-method mtp")
                    .hasMessageContaining("model_type step3")
                    .hasMessageContaining("--speculative-method ngram");
        }
    }

    /**
     * Prompts of 1-60 tokens, every third sharing a 20-token start (prefix-cache hits); greedy, greedy with a
     * frequency penalty, and seeded sampling; 1-50 tokens, so sequences pass the MTP ring (16-token window).
     */
    private static List<GenerationRequest> requests(SplittableRandom random) {
        int vocab = checkpoint.config().vocabSize();
        int[] shared = random.ints(20, 0, vocab).toArray();
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            int[] own = random.ints(random.nextInt(1, 41), 0, vocab).toArray();
            int[] prompt = own;
            if (i % 3 == 0) {
                prompt = new int[shared.length + own.length];
                System.arraycopy(shared, 0, prompt, 0, shared.length);
                System.arraycopy(own, 0, prompt, shared.length, own.length);
            }
            SamplingParams sampling = switch (i % 4) {
                case 0, 1 -> SamplingParams.greedy();
                case 2 -> SamplingParams.greedy().withPenalties(0, 0.3, 1);
                default -> SamplingParams.defaults().withTemperature(0.8).withTopP(0.9).withSeed((long) i);
            };
            out.add(new GenerationRequest(prompt, random.nextInt(1, 51), sampling, true));
        }
        return out;
    }
}
