package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

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
    void badOptionValuesAreOneLineErrors() {
        assertThat(run("make-model", "--out", dir.resolve("x").toString(), "--preset", "huge")).isEqualTo(1);
        assertThat(err.toString()).contains("unknown preset 'huge'", "tiny, small");
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
