package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import java.io.StringWriter;
import java.nio.file.Path;
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
