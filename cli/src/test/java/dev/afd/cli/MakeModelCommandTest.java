package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MakeModelCommandTest {
    @TempDir
    Path dir;

    private final CliRun cli = new CliRun();
    private final StringWriter out = cli.out;
    private final StringWriter err = cli.err;

    private int run(String... args) {
        return cli.execute(args);
    }

    @Test
    void writesALoadableCheckpointAndRefusesToOverwriteWithoutForce() {
        Path model = dir.resolve("tiny");
        assertThat(run("make-model", "--out", model.toString())).isZero();
        assertThat(out.toString()).contains(model.toString(), "267,968 parameters", "model.safetensors", " s");
        try (Checkpoint c = Checkpoint.open(model)) {
            assertThat(c.weights().dtype()).isEqualTo(DType.BF16);
        }

        assertThat(run("make-model", "--out", model.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("is not empty", "--force");

        assertThat(run("make-model", "--out", model.toString(), "--force", "--dtype", "f32", "--shards", "2",
                "--seed", "9", "--norm-expert-weight")).isZero();
        try (Checkpoint c = Checkpoint.open(model)) {
            assertThat(c.files()).hasSize(2);
            assertThat(c.weights().dtype()).isEqualTo(DType.F32);
            assertThat(c.config().toJson().path("norm_expert_weight").asBoolean()).isTrue();
        }
    }

    @Test
    void writesAStep3p5CheckpointWithItsMtpLayers() throws Exception {
        Path model = dir.resolve("step3p5");
        assertThat(run("make-model", "--preset", "step3p5-tiny", "--out", model.toString())).isZero();
        assertThat(out.toString()).contains("writing step3p5-tiny model");
        try (Checkpoint c = Checkpoint.open(model)) {
            assertThat(c.config().modelType()).isEqualTo("step3p5");
            assertThat(c.find("model.layers.5.eh_proj.weight")).isNotNull();
            assertThat(c.find("model.layers.5.transformer.shared_head.output.weight")).isNotNull();
            assertThat(c.find("model.layers.2.moe.router_bias")).isNotNull();
        }
        JsonNode config = new ObjectMapper().readTree(model.resolve("config.json").toFile());
        assertThat(config.path("num_nextn_predict_layers").asInt()).isEqualTo(1);
        assertThat(config.path("sliding_window").asInt()).isEqualTo(16);
        assertThat(config.path("layer_types")).hasSize(6);
    }

    /**
     * The MTP-agreeing fixture: the MTP layer's head and its norm are the main model's, its eh_proj passes the
     * embedding half and drops the hidden half, and output projections are 1/500 of the plain draw's; a
     * Step-3 preset, which has no MTP layers, is refused before anything is written.
     */
    @Test
    void writesTheMtpAgreeingFixture() throws Exception {
        Path model = dir.resolve("agreeing");
        Path plain = dir.resolve("plain");
        assertThat(run("make-model", "--preset", "step3p5-tiny", "--dtype", "f32", "--mtp-agreeing", "--out",
                model.toString())).isZero();
        assertThat(run("make-model", "--preset", "step3p5-tiny", "--dtype", "f32", "--out", plain.toString()))
                .isZero();
        try (Checkpoint c = Checkpoint.open(model); Checkpoint p = Checkpoint.open(plain)) {
            assertThat(values(c, "model.layers.5.transformer.shared_head.output.weight"))
                    .containsExactly(values(c, "lm_head.weight"));
            assertThat(values(c, "model.layers.5.transformer.shared_head.norm.weight"))
                    .containsExactly(values(c, "model.norm.weight"));
            assertThat(values(c, "lm_head.weight")).containsExactly(values(p, "lm_head.weight"));
            float[] eh = values(c, "model.layers.5.eh_proj.weight"); // [64, 128]
            for (int row = 0; row < 64; row++) {
                for (int col = 0; col < 128; col++) {
                    assertThat(eh[row * 128 + col]).as("eh_proj[%d][%d]", row, col).isEqualTo(row == col ? 1f : 0f);
                }
            }
            for (String name : List.of("model.layers.1.self_attn.o_proj.weight", "model.layers.3.moe.down_proj.weight",
                    "model.layers.0.mlp.down_proj.weight", "model.layers.5.mlp.down_proj.weight")) {
                assertThat(rms(values(c, name)) / rms(values(p, name))).as(name).isCloseTo(0.002, within(0.0004));
            }
        }
        Path refused = dir.resolve("refused");
        assertThat(run("make-model", "--preset", "tiny", "--mtp-agreeing", "--out", refused.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("needs MTP layers", "model_type step3");
        assertThat(refused).doesNotExist();
    }

    private static float[] values(Checkpoint c, String name) {
        Tensor t = c.find(name);
        assertThat(t).as(name).isNotNull();
        float[] out = new float[(int) t.elementCount()];
        t.copyTo(0, out, 0, out.length);
        return out;
    }

    private static double rms(float[] x) {
        double sum = 0;
        for (float v : x) {
            sum += (double) v * v;
        }
        return Math.sqrt(sum / x.length);
    }

    @Test
    void badOptionValuesAreOneLineErrors() {
        assertThat(run("make-model", "--out", dir.resolve("x").toString(), "--preset", "huge")).isEqualTo(1);
        assertThat(err.toString()).contains("unknown preset 'huge'", "tiny, small, step3p5-tiny, step3p5-small");
        assertThat(run("make-model", "--out", dir.resolve("y").toString(), "--dtype", "f8")).isEqualTo(1);
        assertThat(err.toString()).contains("unknown dtype 'f8'");
        assertThat(run("make-model", "--out", dir.resolve("z").toString(), "--shards", "0")).isEqualTo(1);
        assertThat(err.toString()).contains("shards must be at least 1");
    }

    @Test
    void helpShowsEveryDefault() {
        assertThat(run("make-model", "--help")).isZero();
        assertThat(out.toString()).contains("Default: tiny", "Default: 42", "Default: 1", "Default: bf16",
                "Default: false");
    }
}
