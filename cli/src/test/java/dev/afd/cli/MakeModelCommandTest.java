package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class MakeModelCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
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
            assertThat(c.config().normExpertWeight()).isTrue();
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
