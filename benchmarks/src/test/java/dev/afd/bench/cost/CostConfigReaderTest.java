package dev.afd.bench.cost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Config layouts against plain references: the tensors of a generated Step-3 checkpoint, and the weight shapes the
 * DeepSeek and Qwen3 modeling code creates, listed layer by layer.
 */
class CostConfigReaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** Every tensor of a real checkpoint, norms aside, is a weight the cost model counts, and no more. */
    @Test
    void step3CountsMatchTheTensorsOfAGeneratedCheckpoint() throws IOException {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        ModelSpec m = ModelConfigs.read(dir.resolve("config.json"));
        assertThat(m.name()).isEqualTo(dir.getFileName().toString());
        long attention = 0;
        long all = 0;
        try (Checkpoint c = Checkpoint.open(dir)) {
            for (String name : c.names()) {
                if (name.contains("norm")) {
                    continue;
                }
                long n = c.find(name).elementCount();
                all += n;
                attention += name.contains(".self_attn.") ? n : 0;
            }
        }
        assertThat(m.attentionParams()).isEqualTo(attention);
        assertThat(m.totalParams()).isEqualTo(all);
        assertThat(m.ffn().denseLayers()).isEqualTo(2);
        assertThat(m.ffn().moeLayers()).isEqualTo(2);
    }

    @Test
    void aStep3VlConfigIsReadFromItsTextConfig() throws IOException {
        JsonNode text = JSON.readTree(Path.of("configs", "step3.json").toFile());
        Path vl = dir.resolve("vl.json");
        Files.writeString(vl, "{\"model_type\": \"step3_vl\", \"vision_config\": {}, \"text_config\": " + text + "}");
        ModelSpec fromVl = ModelConfigs.read(vl);
        ModelSpec fromText = ModelConfigs.read(Path.of("configs", "step3.json"));
        assertThat(fromVl.attention()).isEqualTo(fromText.attention());
        assertThat(fromVl.ffn()).isEqualTo(fromText.ffn());
        assertThat(fromVl.totalParams()).isEqualTo(fromText.totalParams());
    }

    @Test
    void step3MoeLayersAcceptAListOrAreEveryLayerButTheFirstWhenAbsent() {
        String base = "\"model_type\": \"step3_text\", \"hidden_size\": 64, \"num_hidden_layers\": 6,"
                + " \"num_attention_heads\": 4, \"head_dim\": 16, \"share_q_dim\": 32, \"intermediate_size\": 128,"
                + " \"moe_num_experts\": 8, \"moe_top_k\": 2, \"moe_intermediate_size\": 32, \"vocab_size\": 100";
        assertThat(parse("{" + base + ", \"moe_layers_enum\": [1, 3, 3]}").ffn().moeLayers()).isEqualTo(2);
        FfnSpec everyButFirst = parse("{" + base + "}").ffn();
        assertThat(everyButFirst.moeLayers()).isEqualTo(5);
        assertThat(everyButFirst.sharedExperts()).isZero();
        assertThatThrownBy(() -> parse("{" + base + ", \"moe_layers_enum\": \"1,x\"}"))
                .hasMessageContaining("moe_layers_enum has 'x'");
        assertThatThrownBy(() -> parse("{" + base + ", \"moe_layers_enum\": \"1,6\"}"))
                .hasMessageContaining("names layer 6 but the model has 6 layers");
    }

    /** DeepSeek-V2-Lite style: no q_lora_rank, MoE on every second layer from layer 1. */
    @Test
    void deepseekLayoutMatchesItsWeightShapes() {
        int h = 256, heads = 4, kvRank = 64, nope = 32, rope = 16, v = 24, inter = 512, experts = 6, width = 48;
        ModelSpec m = parse("{\"model_type\": \"deepseek_v2\", \"hidden_size\": 256, \"num_hidden_layers\": 5,"
                + " \"num_attention_heads\": 4, \"q_lora_rank\": null, \"kv_lora_rank\": 64,"
                + " \"qk_nope_head_dim\": 32, \"qk_rope_head_dim\": 16, \"v_head_dim\": 24,"
                + " \"intermediate_size\": 512, \"n_routed_experts\": 6, \"num_experts_per_tok\": 2,"
                + " \"n_shared_experts\": 2, \"moe_intermediate_size\": 48, \"first_k_dense_replace\": 1,"
                + " \"moe_layer_freq\": 2, \"vocab_size\": 1000, \"tie_word_embeddings\": true}");
        long attentionLayer = shape(heads * (nope + rope), h) // q_proj
                + shape(kvRank + rope, h) // kv_a_proj_with_mqa
                + shape(heads * (nope + v), kvRank) // kv_b_proj
                + shape(h, heads * v); // o_proj
        long mlp = 3 * shape(inter, h);
        long moe = experts * 3 * shape(width, h) + 3 * shape(2 * width, h) + shape(experts, h);
        // Layers 0, 1, 3 dense (0 < first_k_dense_replace; 1 and 3 are odd), layers 2 and 4 MoE.
        assertThat(m.ffn().moeLayers()).isEqualTo(2);
        assertThat(m.attentionParams()).isEqualTo(5 * attentionLayer);
        assertThat(m.totalParams()).isEqualTo(5 * attentionLayer + 3 * mlp + 2 * moe + shape(1000, h));
        assertThat(m.ffn().activatedParams(h)).isEqualTo(3 * mlp + 2 * (2 * 3 * shape(width, h) + 3 * shape(96, h)));
        assertThat(m.attention().kvValuesPerToken()).isEqualTo(kvRank + rope);
    }

    /** Qwen3-MoE: mlp_only_layers and decoder_sparse_step pick the dense layers; head_dim may differ from H/heads. */
    @Test
    void qwen3MoeLayoutMatchesItsWeightShapes() {
        int h = 128, heads = 8, kv = 2, headDim = 32, inter = 384, experts = 16, topK = 4, width = 64;
        ModelSpec m = parse("{\"model_type\": \"qwen3_moe\", \"hidden_size\": 128, \"num_hidden_layers\": 6,"
                + " \"num_attention_heads\": 8, \"num_key_value_heads\": 2, \"head_dim\": 32,"
                + " \"intermediate_size\": 384, \"num_experts\": 16, \"num_experts_per_tok\": 4,"
                + " \"moe_intermediate_size\": 64, \"decoder_sparse_step\": 2, \"mlp_only_layers\": [3],"
                + " \"vocab_size\": 500}");
        long attentionLayer = shape(heads * headDim, h) + 2 * shape(kv * headDim, h) + shape(h, heads * headDim);
        // (i + 1) % 2 == 0 gives layers 1, 3, 5; layer 3 is MLP-only.
        assertThat(m.ffn().moeLayers()).isEqualTo(2);
        assertThat(m.totalParams()).isEqualTo(6 * attentionLayer + 4 * 3 * shape(inter, h)
                + 2 * (experts * 3 * shape(width, h) + shape(experts, h)) + 2 * shape(500, h));
        assertThat(m.perToken(1000, 1).attentionFlops()).isEqualTo(6 * 1000 * 2.0 * heads * 2 * headDim);
        assertThat(m.perToken(1000, 2).kvBytes()).isEqualTo(6 * 1000 * 2.0 * 2 * kv * headDim);
        assertThat(m.ffn().activatedParams(h)).isEqualTo(4 * 3 * shape(inter, h) + 2 * topK * 3 * shape(width, h));
    }

    @Test
    void denseGqaDefaultsKvHeadsAndHeadDim() {
        ModelSpec m = parse("{\"model_type\": \"llama\", \"hidden_size\": 512, \"num_hidden_layers\": 2,"
                + " \"num_attention_heads\": 8, \"intermediate_size\": 1024, \"vocab_size\": 100}");
        assertThat(m.attention()).isEqualTo(new AttentionSpec.Gqa(8, 8, 64));
        assertThat(m.ffn()).isEqualTo(FfnSpec.dense(2, 1024));
        assertThat(m.perToken(10, 1).ffnFlops()).isEqualTo(2.0 * 2 * 3 * 512 * 1024);
    }

    @Test
    void unusableConfigsNameTheProblem() throws IOException {
        assertThatThrownBy(() -> parse("{\"model_type\": \"gpt2\"}"))
                .isInstanceOf(CostInputException.class).hasMessageContaining("model_type 'gpt2' is not known");
        assertThatThrownBy(() -> parse("{\"model_type\": \"llama\", \"hidden_size\": 512}"))
                .hasMessageContaining("test.json: num_hidden_layers is missing");
        assertThatThrownBy(() -> parse("{\"model_type\": \"llama\", \"num_hidden_layers\": 2,"
                + " \"hidden_size\": \"big\"}"))
                .hasMessageContaining("hidden_size must be an integer");
        assertThatThrownBy(() -> parse("{\"model_type\": \"llama\", \"hidden_size\": 512, \"num_hidden_layers\": 2,"
                + " \"num_attention_heads\": 8, \"num_key_value_heads\": 3, \"intermediate_size\": 1,"
                + " \"vocab_size\": 1}")).hasMessageContaining("multiple of num_key_value_heads (3)");
        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{\"model_type\": ");
        assertThatThrownBy(() -> ModelConfigs.read(broken)).hasMessageContaining("broken.json is not valid JSON");
    }

    /** Elements of a {@code [rows, cols]} weight. */
    private static long shape(long rows, long cols) {
        return rows * cols;
    }

    private static ModelSpec parse(String json) {
        try {
            return ModelConfigs.fromJson(JSON.readTree(json), "test", "test.json");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
