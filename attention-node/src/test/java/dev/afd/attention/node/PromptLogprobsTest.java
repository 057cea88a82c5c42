package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.CollectingSink;
import dev.afd.attention.engine.EngineLoad;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.engine.TokenSink;
import dev.afd.attention.scheduler.SchedulerConfig;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.GeneratedCheckpoint;
import dev.afd.model.sampling.LogitControls;
import dev.afd.model.sampling.PromptLogprob;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.sampling.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Prompt log-probabilities are the very numbers decoding reports: a greedy continuation, fed back as a prompt, gets
 * for each of its tokens the log-probability (bit for bit: the kernels are batch-invariant) and alternatives it had
 * when it was generated, whatever the chunking of the prefill, and with prefix caching on (a request that wants them
 * computes its whole prompt, even when the cache holds it).
 */
class PromptLogprobsTest {
    private static final int BLOCK = 4;
    private static final int GENERATED = 12;

    @RegisterExtension
    static final GeneratedCheckpoint model = GeneratedCheckpoint.tiny();

    @ParameterizedTest(name = "token budget {0}")
    @ValueSource(ints = {3, 5, 64})
    void promptLogprobsEqualTheLogprobsTheTokensWereGeneratedWith(int budget) throws Exception {
        int vocab = model.checkpoint().config().vocabSize();
        int[] start = new SplittableRandom(budget).ints(6, 0, vocab).toArray();
        EngineOptions options = EngineOptions.defaults().withBlockSize(BLOCK).withKvMemory(8L << 20)
                .withScheduler(new SchedulerConfig(budget, 16)).withPrefixCaching(true);
        try (AttentionNode node = AttentionNode.inProcess(model.checkpoint(), 2, AttentionNode.Wire.exact(), options)) {
            CollectingSink first = new CollectingSink();
            node.engine().submit("generate", new GenerationRequest(start, GENERATED,
                    SamplingParams.greedy().withTopLogprobs(3), true), first);
            GenerationResult generated = first.result().get(60, TimeUnit.SECONDS);
            int[] prompt = IntStream.concat(IntStream.of(start), IntStream.of(generated.tokenIds())).toArray();

            // Twice: the second time the cache holds the whole prompt, and must not be used.
            for (int round = 0; round < 2; round++) {
                PromptSink sink = new PromptSink();
                node.engine().submit("score" + round, new GenerationRequest(prompt, 1, SamplingParams.greedy(), true,
                        Set.of(), 0, null, LogitControls.NONE, 3), sink);
                sink.result().get(60, TimeUnit.SECONDS);
                List<PromptLogprob> scored = sink.prompt();
                assertThat(scored).as("one entry per prompt token after the first").hasSize(prompt.length - 1);
                for (int i = 0; i < scored.size(); i++) {
                    PromptLogprob p = scored.get(i);
                    assertThat(p.token()).isEqualTo(prompt[i + 1]);
                    assertThat(p.logprob()).isNotPositive();
                    assertThat(p.rank()).isBetween(1, vocab);
                    assertThat(p.top()).hasSize(3);
                    assertThat(p.rank() == 1).isEqualTo(p.top().getFirst().token() == p.token());
                }
                for (int g = 0; g < GENERATED; g++) {
                    PromptLogprob p = scored.get(start.length - 1 + g);
                    assertThat(Float.floatToRawIntBits(p.logprob())).as("prompt token %d", start.length + g)
                            .isEqualTo(Float.floatToRawIntBits(generated.logprobs()[g]));
                    assertThat(p.rank()).as("a greedy token is the most likely").isEqualTo(1);
                    assertThat(p.top()).isEqualTo(generated.topLogprobs().get(g));
                }
            }
            EngineLoad load = PrefixCacheExactnessTest.awaitIdle(node);
            assertThat(load.kvBlocksUsed()).isZero();
            assertThat(load.prefixQueriedTokens()).as("the scoring requests looked nothing up")
                    .isEqualTo(start.length);
        }
    }

    /** Keeps the result and the prompt's log-probabilities (once: a second call fails the test). */
    private static final class PromptSink implements TokenSink {
        private final CollectingSink result = new CollectingSink();
        private List<PromptLogprob> prompt;

        @Override
        public void onPromptLogprobs(List<PromptLogprob> p) {
            assertThat(prompt).as("prompt log-probabilities arrive once").isNull();
            prompt = new ArrayList<>(p);
        }

        @Override
        public void onToken(Sample sample) {
            assertThat(prompt).as("prompt log-probabilities come before the first token").isNotNull();
        }

        @Override
        public void onFinish(GenerationResult r) {
            result.onFinish(r);
        }

        @Override
        public void onError(String message) {
            result.onError(message);
        }

        CompletableFuture<GenerationResult> result() {
            return result.result();
        }

        List<PromptLogprob> prompt() {
            return prompt;
        }
    }
}
