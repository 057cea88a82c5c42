package dev.afd.model.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.config.ConfigException;
import dev.afd.model.config.JsonFiles;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.step3.Step3Config;
import dev.afd.model.step3.Step3Weights;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Step3Config TINY = (Step3Config) ModelPreset.TINY.config(false);

    @TempDir
    Path dir;

    private Path tiny(int shards) throws IOException {
        ModelGenerator.generate(TINY, new ModelGenerator.Options(7, DType.BF16, shards, false), dir);
        return dir;
    }

    private static Path shard(Path dir, int index, int shards) {
        return dir.resolve(SafetensorsWriter.shardName(index, shards));
    }

    @Test
    void singleFileCheckpointOpensAndBinds() throws IOException {
        try (Checkpoint c = Checkpoint.open(tiny(1))) {
            assertThat(c.directory()).isEqualTo(dir);
            assertThat(c.config()).isEqualTo(TINY);
            assertThat(c.files()).hasSize(1);
            Step3Weights w = (Step3Weights) c.weights();
            assertThat(w).isSameAs(c.weights());
            assertThat(w.layers()).hasSize(4);
            assertThat(w.layers().get(1).isMoe()).isTrue();
            assertThat(w.layers().get(0).isMoe()).isFalse();
            assertThat(w.dtype()).isEqualTo(DType.BF16);
            assertThat(c.names()).contains("lm_head.weight").hasSize(countTensors(TINY));
            assertThat(c.find("no.such.tensor")).isNull();
        }
    }

    private static int countTensors(Step3Config c) {
        int perLayer = 8;
        return 3 + c.numLayers() * perLayer + (c.numLayers() - c.moeLayers().size()) * 3 + c.moeLayers().size() * 7;
    }

    @Test
    void shardedCheckpointOpensAndBindsTheSameTensors() throws IOException {
        Path single = dir.resolve("single");
        Path sharded = dir.resolve("sharded");
        ModelGenerator.generate(TINY, new ModelGenerator.Options(7, DType.BF16, 1, false), single);
        ModelGenerator.generate(TINY, new ModelGenerator.Options(7, DType.BF16, 3, false), sharded);
        assertThat(sharded.resolve(Checkpoint.INDEX)).exists();
        try (Checkpoint a = Checkpoint.open(single); Checkpoint b = Checkpoint.open(sharded)) {
            assertThat(b.files()).extracting(f -> f.path().getFileName().toString()).containsExactly(
                    "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                    "model-00003-of-00003.safetensors");
            assertThat(b.names()).isEqualTo(a.names());
            for (String name : a.names()) {
                Tensor x = a.find(name);
                Tensor y = b.find(name);
                assertThat(y.shape()).isEqualTo(x.shape());
                assertThat(y.data().mismatch(x.data())).as(name).isEqualTo(-1);
            }
            assertThat(((Step3Weights) b.weights()).layers()).hasSize(TINY.numLayers());
            // total_size counts tensor data only, as Hugging Face writes it.
            long tensorBytes = a.names().stream().mapToLong(n -> a.find(n).data().byteSize()).sum();
            assertThat(JSON.readTree(sharded.resolve(Checkpoint.INDEX).toFile()).path("metadata")
                    .path("total_size").asLong()).isEqualTo(tensorBytes);
        }
    }

    @Test
    void eosIdsAreTheUnionOfConfigAndGenerationConfig() throws IOException {
        try (Checkpoint c = Checkpoint.open(tiny(1))) {
            assertThat(c.config().eosTokenIds()).containsExactly(509);
            assertThat(c.eosTokenIds()).containsExactly(509, 511);
        }
        Files.delete(dir.resolve(Checkpoint.GENERATION_CONFIG));
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertThat(c.eosTokenIds()).containsExactly(509);
        }
        Files.writeString(dir.resolve(Checkpoint.GENERATION_CONFIG), "{\"eos_token_id\": 3}");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertThat(c.eosTokenIds()).containsExactly(509, 3);
        }
        Files.writeString(dir.resolve(Checkpoint.GENERATION_CONFIG), "{\"eos_token_id\": \"x\"}");
        assertThatThrownBy(() -> Checkpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContainingAll(Checkpoint.GENERATION_CONFIG, "eos_token_id");
    }

    @Test
    void tensorsAreInvalidAfterClose() throws IOException {
        Tensor t;
        try (Checkpoint c = Checkpoint.open(tiny(1))) {
            t = c.find("model.norm.weight");
            assertThat(t.getFloat(0)).isBetween(0.89f, 1.11f);
        }
        assertThatThrownBy(() -> t.getFloat(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void step3VlConfigWithTextConfigAndPrefixedTensorsLoads() throws IOException {
        tiny(1);
        ObjectNode text = (ObjectNode) JSON.readTree(dir.resolve(Checkpoint.CONFIG).toFile());
        ObjectNode vl = JsonFiles.object();
        vl.putArray("architectures").add("Step3VLForConditionalGeneration");
        vl.put("model_type", "step3_vl");
        vl.set("text_config", text);
        vl.putObject("vision_config").put("hidden_size", 32);
        JsonFiles.write(dir.resolve(Checkpoint.CONFIG), vl);
        RawFiles.rewrite(dir.resolve("model.safetensors"), entries -> {
            List<SafetensorsWriter.Entry> renamed = new ArrayList<>();
            for (SafetensorsWriter.Entry e : entries) {
                String name = e.name().startsWith("model.") ? "language_model." + e.name() : e.name();
                renamed.add(new SafetensorsWriter.Entry(name, e.dtype(), e.shape(), e.values()));
            }
            return renamed;
        });
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertThat(c.config()).isEqualTo(TINY);
            assertThat(c.find("language_model.model.embed_tokens.weight")).isNotNull();
            assertThat(((Step3Weights) c.weights()).embed().name()).isEqualTo("language_model.model.embed_tokens.weight");
        }
    }

    // ----- errors -----

    private void assertOpenFails(Path folder, String... fragments) {
        assertThatThrownBy(() -> Checkpoint.open(folder)).isInstanceOf(CheckpointException.class)
                .hasMessageContainingAll(fragments);
    }

    private void assertBindFails(String... fragments) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertThatThrownBy(c::weights).isInstanceOf(CheckpointException.class).hasMessageContainingAll(fragments);
        }
    }

    @Test
    void missingFolderOrConfig() throws IOException {
        assertOpenFails(dir.resolve("nope"), "nope", "is not a folder");
        assertOpenFails(dir, dir.toString(), "has no config.json");
    }

    @Test
    void folderWithoutWeights() throws IOException {
        tiny(1);
        Files.delete(dir.resolve("model.safetensors"));
        assertOpenFails(dir, dir.toString(), "has no .safetensors files");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        tiny(1);
        RawFiles.rewrite(dir.resolve("model.safetensors"),
                entries -> entries.stream().filter(e -> !e.name().equals("model.layers.2.moe.up_proj.weight")).toList());
        assertBindFails("'model.layers.2.moe.up_proj.weight' is missing", "[8, 32, 64]");
    }

    @Test
    void misShapedTensorNamesExpectedAndActualShape() throws IOException {
        tiny(1);
        RawFiles.rewrite(dir.resolve("model.safetensors"), entries -> entries.stream()
                .map(e -> e.name().equals("model.layers.0.self_attn.k_proj.weight")
                        ? new SafetensorsWriter.Entry(e.name(), e.dtype(), new long[] {64, 16}, e.values())
                        : e)
                .toList());
        assertBindFails("'model.layers.0.self_attn.k_proj.weight'", "has shape [64, 16]", "implies [16, 64]");
    }

    @Test
    void truncatedWeightFileNamesTheFile() throws IOException {
        tiny(1);
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 100));
        assertOpenFails(dir, file.toString(), "lm_head.weight", "truncated");
    }

    @Test
    void missingIndexShardNamesTensorAndFile() throws IOException {
        tiny(3);
        Files.delete(shard(dir, 1, 3));
        assertOpenFails(dir, "model-00002-of-00003.safetensors", "does not exist", "tensor 'model.layers.");
    }

    @Test
    void indexEntryAbsentFromItsShard() throws IOException {
        tiny(2);
        ObjectNode index = (ObjectNode) JSON.readTree(dir.resolve(Checkpoint.INDEX).toFile());
        ((ObjectNode) index.path("weight_map")).put("lm_head.weight", "model-00001-of-00002.safetensors");
        JsonFiles.write(dir.resolve(Checkpoint.INDEX), index);
        assertOpenFails(dir, "'lm_head.weight'", "model-00001-of-00002.safetensors", "does not contain it");
    }

    @Test
    void malformedIndex() throws IOException {
        tiny(2);
        Files.writeString(dir.resolve(Checkpoint.INDEX), "{\"weight_map\": [");
        assertOpenFails(dir, Checkpoint.INDEX, "not valid JSON");
        Files.writeString(dir.resolve(Checkpoint.INDEX), "{\"metadata\": {}}");
        assertOpenFails(dir, Checkpoint.INDEX, "weight_map");
    }

    @Test
    void tensorInTwoFilesNamesBoth() throws IOException {
        tiny(1);
        Files.copy(dir.resolve("model.safetensors"), dir.resolve("extra.safetensors"));
        assertOpenFails(dir, "stored twice", "extra.safetensors", "model.safetensors");
    }

    @Test
    void badConfigIsAConfigError() throws IOException {
        tiny(1);
        Files.writeString(dir.resolve(Checkpoint.CONFIG), "{\"model_type\": \"llama\"}");
        assertThatThrownBy(() -> Checkpoint.open(dir)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("llama");
    }
}
