package dev.afd.model.step3p5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.config.ConfigException;
import dev.afd.model.family.KvLayout;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.ModelFamilies;
import dev.afd.model.generator.ModelPreset;
import org.junit.jupiter.api.Test;

class Step3p5ConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void readsTheReleasedLayout() throws Exception {
        Step3p5Config c = (Step3p5Config) ModelFamilies.fromJson(released(), "config.json");
        assertThat(c.numLayers()).isEqualTo(45);
        assertThat(c.numMtpLayers()).isEqualTo(3);
        assertThat(c.attention(0)).isEqualTo(new Step3p5Config.AttentionShape(64, 8, 128));
        assertThat(c.attention(1)).isEqualTo(new Step3p5Config.AttentionShape(96, 8, 128));
        assertThat(c.rotaryDim(0)).isEqualTo(64);
        assertThat(c.rotaryDim(1)).isEqualTo(128);
        assertThat(c.ropeScaling(0)).isNotNull();
        assertThat(c.ropeScaling(1)).isNull();
        assertThat(c.moeLayers()).hasSize(42).startsWith(3).endsWith(44);
        KvLayout kv = c.kvLayout();
        assertThat(kv.slots()).isEqualTo(45 * 8);
        assertThat(kv.slot(2, 3)).isEqualTo(19);
        assertThat(kv.window(0)).isZero();
        assertThat(kv.window(1)).isEqualTo(512);
        assertThat(kv.firstVisible(1, 600)).isEqualTo(89);
        assertThat(kv.firstVisible(0, 600)).isZero();
        assertThat(c.mtpKvLayout().layers()).isEqualTo(3);
    }

    @Test
    void toJsonReadsBackAsTheSameConfig() {
        for (ModelPreset p : new ModelPreset[] {ModelPreset.STEP3P5_TINY, ModelPreset.STEP3P5_SMALL}) {
            ModelConfig c = p.config(true);
            assertThat(ModelFamilies.fromJson(c.toJson(), "round trip")).isEqualTo(c);
        }
    }

    @Test
    void errorsNameTheKey() throws Exception {
        ObjectNode bad = released();
        ((ObjectNode) bad.path("attention_other_setting")).put("head_dim", 64);
        assertThatThrownBy(() -> ModelFamilies.fromJson(bad, "config.json")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("attention_other_setting.head_dim");
        ObjectNode types = released();
        types.withArray("layer_types").set(2, JSON.getNodeFactory().textNode("linear_attention"));
        assertThatThrownBy(() -> ModelFamilies.fromJson(types, "config.json")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("layer_types[2]");
        ObjectNode scaling = released();
        ((ObjectNode) scaling.path("rope_scaling")).put("rope_type", "yarn");
        assertThatThrownBy(() -> ModelFamilies.fromJson(scaling, "config.json")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("rope_scaling");
        ObjectNode unknown = released();
        unknown.put("model_type", "qwen3_moe");
        assertThatThrownBy(() -> ModelFamilies.fromJson(unknown, "config.json")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("step3p5").hasMessageContaining("qwen3_moe");
    }

    /** Step-3.5-Flash's configuration as its model card and the reference implementations describe it. */
    private static ObjectNode released() throws Exception {
        ObjectNode c = (ObjectNode) JSON.readTree("""
                {"model_type": "step3p5", "hidden_size": 4096, "num_hidden_layers": 45, "num_attention_heads": 64,
                 "num_attention_groups": 8, "head_dim": 128, "intermediate_size": 11264, "vocab_size": 128896,
                 "attention_other_setting": {"attention_type": "sliding_attention", "num_attention_heads": 96,
                                             "num_attention_groups": 8, "head_dim": 128},
                 "sliding_window": 512, "moe_num_experts": 288, "moe_top_k": 8, "moe_intermediate_size": 1280,
                 "share_expert_dim": 1280, "moe_router_scaling_factor": 3.0, "norm_expert_weight": true,
                 "use_head_wise_attn_gate": true, "num_nextn_predict_layers": 3, "rms_norm_eps": 1e-5,
                 "rope_scaling": {"rope_type": "llama3", "factor": 2.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 32.0, "original_max_position_embeddings": 131072},
                 "yarn_only_types": ["full_attention"], "max_position_embeddings": 262144}
                """);
        var types = c.putArray("layer_types");
        var theta = c.putArray("rope_theta");
        var factors = c.putArray("partial_rotary_factors");
        for (int i = 0; i < 48; i++) {
            boolean full = i < 45 && i % 4 == 0;
            types.add(full ? "full_attention" : "sliding_attention");
            theta.add(full ? 5e6 : 1e4);
            factors.add(full ? 0.5 : 1.0);
        }
        StringBuilder moe = new StringBuilder();
        for (int i = 3; i < 45; i++) {
            moe.append(i == 3 ? "" : ",").append(i);
        }
        c.put("moe_layers_enum", moe.toString());
        return c;
    }
}
