package dev.afd.model.step3p5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.family.MultiTokenPredictor;
import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generate.Generator;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.kv.SequenceKvCache;
import dev.afd.model.reference.Float64Reference;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 * The Step-3.5 forward pass against the independent float64 reference ({@code step3p5_reference.py}): greedy tokens
 * equal and per-token log-probabilities within 1e-4 with an F32 KV cache, on generated {@code step3p5-tiny}
 * checkpoints (window 16) with prompts and generations that run well past the window.
 */
class Step3p5ReferenceParityTest {
    private static final double LOGPROB_TOLERANCE = 1e-4;
    private static final int MAX_TOKENS = 24;
    /** Longer than the tiny preset's window of 16, so sliding layers drop keys while the prompt is still read. */
    private static final int PROMPT = 21;

    @TempDir
    static Path dir;

    @BeforeAll
    static void requirePython() {
        assumeTrue(Float64Reference.available(), "python3 with numpy is needed for the float64 reference");
    }

    static Stream<Arguments> checkpoints() {
        return Stream.of(
                Arguments.of("bf16", false, DType.BF16, 1, 512),
                Arguments.of("bf16-norm-expert-weight", true, DType.BF16, 1, 512),
                Arguments.of("f32-sharded-chunked", false, DType.F32, 3, 5),
                Arguments.of("f16-sharded-norm-chunked", true, DType.F16, 2, 7));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checkpoints")
    void greedyTokensAndLogprobsMatchTheFloat64Reference(String name, boolean normExpertWeight, DType dtype,
            int shards, int prefillChunk) throws Exception {
        Path model = generate(name, normExpertWeight, dtype, shards);
        int[] prompt = new SplittableRandom(name.hashCode()).ints(PROMPT, 0, 512).toArray();
        Float64Reference.Result expected = Float64Reference.generate(
                Float64Reference.Request.greedy(model, prompt, MAX_TOKENS).withIgnoreEos(true));
        try (Checkpoint c = Checkpoint.open(model)) {
            GenerationResult actual = generator(c, prefillChunk).generate(
                    new GenerationRequest(prompt, MAX_TOKENS, SamplingParams.greedy(), true));
            assertThat(actual.tokenIds()).isEqualTo(expected.tokenIds());
            for (int t = 0; t < MAX_TOKENS; t++) {
                assertThat(Math.abs(actual.logprobs()[t] - expected.logprobs()[t])).as("|Δ logprob| at step %d", t)
                        .isLessThanOrEqualTo(LOGPROB_TOLERANCE);
            }
        }
    }

    @Test
    void batchedAndChunkedGenerationEqualsOneSequenceAtATime() throws Exception {
        Path model = generate("batch", false, DType.BF16, 1);
        try (Checkpoint c = Checkpoint.open(model)) {
            List<GenerationRequest> requests = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(5);
            for (int i = 0; i < 4; i++) {
                requests.add(new GenerationRequest(random.ints(5 + 9 * i, 0, 512).toArray(), MAX_TOKENS,
                        SamplingParams.greedy(), true));
            }
            List<GenerationResult> together = generator(c, 6).generate(requests);
            for (int i = 0; i < requests.size(); i++) {
                GenerationResult alone = generator(c, 512).generate(requests.get(i));
                assertThat(together.get(i).tokenIds()).as("sequence %d", i).isEqualTo(alone.tokenIds());
                for (int t = 0; t < MAX_TOKENS; t++) {
                    assertThat((double) together.get(i).logprobs()[t]).isCloseTo(alone.logprobs()[t], within(1e-5));
                }
            }
        }
    }

    /**
     * The parity above is only worth something if the preset's sliding window and SwiGLU clamps change the answer on
     * these prompts: the reference without either (window wider than the sequence, limits 0) generates differently.
     */
    @Test
    void theWindowAndTheClampsChangeWhatTheParityChecks() throws Exception {
        Path model = generate("bite", false, DType.BF16, 1);
        int[] prompt = new SplittableRandom("bf16".hashCode()).ints(PROMPT, 0, 512).toArray();
        Float64Reference.Result base = reference(model, prompt);
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(model.resolve("config.json").toFile());
        for (String change : List.of("window", "clamps")) {
            ObjectNode changed = config.deepCopy();
            if (change.equals("window")) {
                changed.put("sliding_window", 4096);
            } else {
                changed.putArray("swiglu_limits");
                changed.putArray("swiglu_limits_shared");
            }
            Files.writeString(model.resolve("config.json"), json.writeValueAsString(changed));
            Float64Reference.Result other = reference(model, prompt);
            assertThat(Arrays.equals(other.logprobs(), base.logprobs())).as("without the %s", change).isFalse();
        }
    }

    private static Float64Reference.Result reference(Path model, int[] prompt) {
        return Float64Reference.generate(
                Float64Reference.Request.greedy(model, prompt, MAX_TOKENS).withIgnoreEos(true));
    }

    /** One MTP layer, fed the reference's own hidden states, predicts what the reference's MTP layer does. */
    @Test
    void mtpLayerMatchesTheFloat64Reference() throws Exception {
        Path model = generate("mtp", true, DType.BF16, 1);
        int[] prompt = new SplittableRandom(17).ints(PROMPT, 0, 512).toArray();
        Float64Reference.Mtp expected = Float64Reference.mtp(model, prompt, 0);
        try (Checkpoint c = Checkpoint.open(model)) {
            Step3p5Config config = (Step3p5Config) c.config();
            Step3p5Model lm = (Step3p5Model) c.model(new LocalFfn(c.weights()));
            int n = expected.nextTokens().length;
            int h = config.hiddenSize();
            float[] hidden = new float[n * h];
            for (int t = 0; t < n; t++) {
                System.arraycopy(expected.hidden()[t], 0, hidden, t * h, h);
            }
            try (SequenceKvCache cache = new SequenceKvCache(config.mtpKvLayout().slots(), config.headDim(),
                    DType.F32)) {
                // Two calls, so the second reads the first's keys through the MTP layer's own (sliding) cache.
                int first = 9;
                float[] logits = new float[n * config.vocabSize()];
                MultiTokenPredictor.MtpOutput a = lm.mtp(0, cache, 0, Arrays.copyOf(hidden, first * h),
                        Arrays.copyOf(expected.nextTokens(), first));
                MultiTokenPredictor.MtpOutput b = lm.mtp(0, cache, first,
                        Arrays.copyOfRange(hidden, first * h, n * h),
                        Arrays.copyOfRange(expected.nextTokens(), first, n));
                System.arraycopy(a.logits(), 0, logits, 0, a.logits().length);
                System.arraycopy(b.logits(), 0, logits, a.logits().length, b.logits().length);
                for (int t = 0; t < n; t++) {
                    double scale = 0;
                    for (double v : expected.logits()[t]) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    for (int v = 0; v < config.vocabSize(); v++) {
                        assertThat((double) logits[t * config.vocabSize() + v]).as("position %d logit %d", t, v)
                                .isCloseTo(expected.logits()[t][v], within(1e-4 * Math.max(1, scale)));
                    }
                }
            }
        }
    }

    private static Path generate(String name, boolean normExpertWeight, DType dtype, int shards) throws Exception {
        Path model = dir.resolve(name);
        ModelGenerator.generate(ModelPreset.STEP3P5_TINY.config(normExpertWeight),
                new ModelGenerator.Options(name.hashCode(), dtype, shards, false), model);
        return model;
    }

    private static Generator generator(Checkpoint c, int prefillChunk) {
        return new Generator(c.model(new LocalFfn(c.weights())), Set.copyOf(c.eosTokenIds()), DType.F32,
                prefillChunk);
    }
}
