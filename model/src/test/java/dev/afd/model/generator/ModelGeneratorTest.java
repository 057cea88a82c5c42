package dev.afd.model.generator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.safetensors.SafetensorsWriter;
import dev.afd.model.step3.Step3Config;
import dev.afd.model.step3.Step3Weights;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ModelGeneratorTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Step3Config TINY = (Step3Config) ModelPreset.TINY.config(false);

    @TempDir
    Path dir;

    private static ModelGenerator.Options options(long seed, DType dtype, int shards) {
        return new ModelGenerator.Options(seed, dtype, shards, false);
    }

    private static List<Path> sortedFiles(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.sorted().toList();
        }
    }

    @Test
    void sameSeedGivesIdenticalBytesAndAnotherSeedOtherWeights() throws IOException {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        Path c = dir.resolve("c");
        ModelGenerator.generate(TINY, options(5, DType.BF16, 2), a);
        ModelGenerator.generate(TINY, options(5, DType.BF16, 2), b);
        ModelGenerator.generate(TINY, options(6, DType.BF16, 2), c);
        List<Path> files = sortedFiles(a);
        assertThat(files).extracting(p -> p.getFileName().toString()).containsExactly("config.json",
                "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json");
        for (Path f : files) {
            Path name = f.getFileName();
            assertThat(Files.readAllBytes(b.resolve(name))).as("%s", name).isEqualTo(Files.readAllBytes(f));
            long mismatch = Files.mismatch(f, c.resolve(name));
            if (name.toString().endsWith(".safetensors")) {
                assertThat(mismatch).as("%s differs for another seed", name).isNotEqualTo(-1L);
            } else {
                assertThat(mismatch).as("%s does not depend on the seed", name).isEqualTo(-1L);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void everyDtypeBindsWithWellScaledValues(DType dtype) throws IOException {
        ModelGenerator.Result r = ModelGenerator.generate(TINY, options(1, dtype, 1), dir);
        assertThat(r.parameterCount()).isEqualTo(ModelGenerator.parameterCount(TINY)).isEqualTo(267_968);
        assertThat(r.weightBytes()).isEqualTo(r.parameterCount() * dtype.byteSize());
        try (Checkpoint c = Checkpoint.open(dir)) {
            Step3Weights w = (Step3Weights) c.weights();
            assertThat(w.dtype()).isEqualTo(dtype);
            int h = TINY.hiddenSize();
            assertStats(w.embed(), 0, WeightPlan.EMBED_STD);
            assertStats(w.lmHead(), 0, WeightPlan.LOGIT_STD / Math.sqrt(h));
            assertStats(w.layers().get(1).moe().router(), 0, WeightPlan.ROUTER_LOGIT_STD / Math.sqrt(h));
            assertStats(w.layers().get(0).wq(), 0, 1 / Math.sqrt(TINY.shareQDim()));
            assertStats(w.layers().get(2).moe().down(), 0, 1 / Math.sqrt(TINY.moeIntermediateSize()));
            Tensor norm = w.layers().get(3).interNorm();
            for (int i = 0; i < norm.elementCount(); i++) {
                assertThat(norm.getFloat(i)).isBetween(0.899f, 1.101f);
            }
        }
    }

    private static void assertStats(Tensor t, double mean, double std) {
        long n = t.elementCount();
        double sum = 0;
        double sumSq = 0;
        for (long i = 0; i < n; i++) {
            double v = t.getFloat(i);
            sum += v;
            sumSq += v * v;
        }
        double m = sum / n;
        double s = Math.sqrt(sumSq / n - m * m);
        double tolerance = 6 * std / Math.sqrt(n);
        assertThat(m).as("%s mean", t.name()).isCloseTo(mean, offset(tolerance));
        assertThat(s).as("%s std", t.name()).isBetween(std * 0.85, std * 1.15);
    }

    @Test
    void configJsonHasEveryStep3Key() throws IOException {
        ModelGenerator.generate(ModelPreset.TINY.config(true), options(1, DType.BF16, 1), dir);
        JsonNode c = JSON.readTree(dir.resolve(Checkpoint.CONFIG).toFile());
        assertThat(c.path("architectures").get(0).asText()).isEqualTo("Step3TextForCausalLM");
        assertThat(c.path("model_type").asText()).isEqualTo("step3_text");
        assertThat(c.path("moe_layers_enum").isTextual()).isTrue();
        assertThat(c.path("moe_layers_enum").asText()).isEqualTo("1,2");
        assertThat(c.path("norm_expert_weight").asBoolean()).isTrue();
        assertThat(c.has("rope_scaling") && c.path("rope_scaling").isNull()).isTrue();
        assertThat(c.path("hidden_act").asText()).isEqualTo("silu");
        assertThat(c.path("torch_dtype").asText()).isEqualTo("bfloat16");
        assertThat(c.path("tie_word_embeddings").asBoolean(true)).isFalse();
        assertThat(c.path("rope_theta").asDouble()).isEqualTo(500000.0);
        assertThat(c.path("rms_norm_eps").asDouble()).isEqualTo(1e-5);
        for (String key : List.of("hidden_size", "num_hidden_layers", "num_attention_heads", "num_attention_groups",
                "head_dim", "share_q_dim", "intermediate_size", "moe_num_experts", "moe_top_k",
                "moe_intermediate_size", "share_expert_dim", "vocab_size", "max_position_embedding", "max_seq_len",
                "bos_token_id", "eos_token_id")) {
            assertThat(c.path(key).isIntegralNumber()).as(key).isTrue();
        }
        assertThat(c.path("bos_token_id").asInt()).isEqualTo(508);
        JsonNode g = JSON.readTree(dir.resolve(Checkpoint.GENERATION_CONFIG).toFile());
        assertThat(g.path("eos_token_id").toString()).isEqualTo("[509,511]");
        assertThat(g.path("do_sample").asBoolean()).isTrue();
        try (Checkpoint ck = Checkpoint.open(dir)) {
            assertThat(ck.config()).isEqualTo(ModelPreset.TINY.config(true));
            assertThat(((Step3Config) ck.config()).normExpertWeight()).isTrue();
            assertThat(ck.eosTokenIds()).containsExactly(509, 511);
        }
    }

    @Test
    void smallPresetLandsBetweenThreeAndFiveHundredMillionParameters() {
        Step3Config small = (Step3Config) ModelPreset.SMALL.config(false);
        assertThat(ModelGenerator.parameterCount(small)).isBetween(300_000_000L, 500_000_000L);
        assertThat(small.moeLayers()).doesNotContain(0, small.numLayers() - 1).hasSize(small.numLayers() - 2);
        assertThat(small.numExperts()).isEqualTo(48);
        assertThat(small.topK()).isEqualTo(3);
        assertThat(ModelPreset.parse("Small")).isEqualTo(ModelPreset.SMALL);
        assertThatThrownBy(() -> ModelPreset.parse("huge")).hasMessageContaining("tiny, small");
    }

    @Test
    void valuesArePureFunctionsOfTheElementIndex() {
        SafetensorsWriter.Entry e = WeightPlan.entries(TINY, DType.F32, 3).getFirst();
        int n = 3 * WeightPlan.BLOCK + 5;
        float[] whole = new float[n];
        e.values().fill(0, whole, n);
        for (int start : new int[] {1, WeightPlan.BLOCK - 1, WeightPlan.BLOCK + 7}) {
            float[] part = new float[n - start];
            e.values().fill(start, part, part.length);
            assertThat(part).as("from %d", start).containsExactly(Arrays.copyOfRange(whole, start, n));
        }
    }

    @Test
    void refusesANonEmptyFolderUnlessAllowedAndThenReplacesOnlyCheckpointFiles() throws IOException {
        ModelGenerator.generate(TINY, options(1, DType.BF16, 3), dir);
        Files.writeString(dir.resolve("README.md"), "keep me");
        assertThatThrownBy(() -> ModelGenerator.generate(TINY, options(1, DType.BF16, 1), dir))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not empty");
        ModelGenerator.generate(TINY, new ModelGenerator.Options(1, DType.BF16, 1, true), dir);
        assertThat(sortedFiles(dir)).extracting(p -> p.getFileName().toString()).containsExactly("README.md",
                "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                "tokenizer_config.json");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertThat(c.weights()).isNotNull();
        }
    }
}
