package dev.afd.model.step3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generate.Generator;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.reference.Float64Reference;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.tensor.DType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java engine against the independent float64 reference, on checkpoints written by the reference's own writer
 * (so the loader sees files it did not produce): greedy tokens must be equal and per-token log-probabilities within
 * 1e-4 with an F32 KV cache.
 */
class ReferenceParityTest {
    private static final double LOGPROB_TOLERANCE = 1e-4;
    private static final int MAX_TOKENS = 24;

    @TempDir
    static Path dir;

    @BeforeAll
    static void requirePython() {
        assumeTrue(Float64Reference.available(), "python3 with numpy is needed for the float64 reference");
    }

    static Stream<Arguments> checkpoints() {
        return Stream.of(
                Arguments.of("bf16", List.of("--seed", "1")),
                Arguments.of("f16-sharded", List.of("--seed", "2", "--dtype", "F16", "--shards", "3")),
                Arguments.of("f32-vl", List.of("--seed", "3", "--dtype", "F32", "--vl")),
                Arguments.of("norm-expert-weight", List.of("--seed", "4", "--set", "norm_expert_weight=true")),
                Arguments.of("wide", List.of("--seed", "5", "--set", "hidden_size=136", "--set", "head_dim=24",
                        "--set", "moe_num_experts=9", "--set", "moe_top_k=3", "--set", "vocab_size=300")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checkpoints")
    void greedyTokensAndLogprobsMatchTheFloat64Reference(String name, List<String> writerArgs) throws Exception {
        Path model = writeCheckpoint(name, writerArgs);
        int[] prompt = randomPrompt(name.hashCode(), 7, model);
        Float64Reference.Result expected = Float64Reference.generate(
                Float64Reference.Request.greedy(model, prompt, MAX_TOKENS).withIgnoreEos(true));
        GenerationResult actual;
        try (Checkpoint c = Checkpoint.open(model)) {
            actual = generator(c, DType.F32, 512).generate(request(prompt));
        }
        assertMatches(actual, expected);
    }

    @ParameterizedTest(name = "norm_expert_weight={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void theGeneratedTinyPresetMatchesTheReference(boolean normExpertWeight) throws Exception {
        Path model = dir.resolve("tiny-" + normExpertWeight);
        ModelGenerator.generate(ModelPreset.TINY.config(normExpertWeight),
                new ModelGenerator.Options(11, DType.BF16, 2, false), model);
        int[] prompt = randomPrompt(11, 12, model);
        Float64Reference.Result expected = Float64Reference.generate(
                Float64Reference.Request.greedy(model, prompt, MAX_TOKENS).withIgnoreEos(true));
        try (Checkpoint c = Checkpoint.open(model)) {
            assertMatches(generator(c, DType.F32, 5).generate(request(prompt)), expected);
        }
    }

    @Test
    void batchedAndChunkedGenerationEqualsOneSequenceAtATime() throws Exception {
        Path model = writeCheckpoint("batch", List.of("--seed", "6"));
        try (Checkpoint c = Checkpoint.open(model)) {
            List<GenerationRequest> requests = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                requests.add(request(randomPrompt(i, 3 + 4 * i, model)));
            }
            List<GenerationResult> alone = new ArrayList<>();
            for (GenerationRequest r : requests) {
                alone.add(generator(c, DType.F32, 512).generate(r));
            }
            // Prefill chunks of 3 tokens: longer prompts need several steps while shorter ones already decode.
            List<GenerationResult> together = generator(c, DType.F32, 3).generate(requests);
            for (int i = 0; i < requests.size(); i++) {
                assertThat(together.get(i).tokenIds()).as("sequence %d", i).isEqualTo(alone.get(i).tokenIds());
                for (int t = 0; t < MAX_TOKENS; t++) {
                    assertThat((double) together.get(i).logprobs()[t])
                            .isCloseTo(alone.get(i).logprobs()[t], org.assertj.core.api.Assertions.within(1e-5));
                }
            }
        }
    }

    @Test
    void bf16KvCacheStaysCloseToTheReference() throws Exception {
        Path model = writeCheckpoint("bf16-kv", List.of("--seed", "7"));
        int[] prompt = randomPrompt(7, 9, model);
        Float64Reference.Result expected = Float64Reference.generate(
                Float64Reference.Request.greedy(model, prompt, 8).withIgnoreEos(true));
        try (Checkpoint c = Checkpoint.open(model)) {
            GenerationResult actual = generator(c, DType.BF16, 512).generate(
                    new GenerationRequest(prompt, 8, SamplingParams.greedy(), true));
            for (int t = 0; t < 8; t++) {
                assertThat((double) actual.logprobs()[t]).isCloseTo(expected.logprobs()[t],
                        org.assertj.core.api.Assertions.within(2e-2));
            }
        }
    }

    static Generator generator(Checkpoint c, DType kv, int prefillChunk) {
        return new Generator(c.model(new LocalFfn(c.weights())), Set.copyOf(c.eosTokenIds()), kv, prefillChunk);
    }

    private static GenerationRequest request(int[] prompt) {
        return new GenerationRequest(prompt, MAX_TOKENS, SamplingParams.greedy(), true);
    }

    static void assertMatches(GenerationResult actual, Float64Reference.Result expected) {
        assertThat(actual.tokenIds()).isEqualTo(expected.tokenIds());
        assertThat(actual.logprobs()).hasSameSizeAs(expected.logprobs());
        for (int t = 0; t < expected.logprobs().length; t++) {
            assertThat(Math.abs(actual.logprobs()[t] - expected.logprobs()[t]))
                    .as("|Δ logprob| at step %d", t)
                    .isLessThanOrEqualTo(LOGPROB_TOLERANCE);
        }
    }

    private static Path writeCheckpoint(String name, List<String> writerArgs) {
        Path out = dir.resolve(name);
        List<String> args = new ArrayList<>();
        args.add(Float64Reference.pythonScript("step3_checkpoint_writer.py").toString());
        args.add(out.toString());
        args.addAll(writerArgs);
        Float64Reference.Completed done = Float64Reference.python(args, Map.of(), Duration.ofMinutes(1));
        assertThat(done.exitCode()).as(done.stderr()).isZero();
        return out;
    }

    private static int[] randomPrompt(long seed, int length, Path model) throws Exception {
        int vocab;
        try (Checkpoint c = Checkpoint.open(model)) {
            vocab = c.config().vocabSize();
        }
        return new SplittableRandom(seed).ints(length, 0, vocab).toArray();
    }
}
