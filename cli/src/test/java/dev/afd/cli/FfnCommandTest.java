package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.afd.ffn.cuda.CudaProbe;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.tensor.DType;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The argument checks of {@code afd ffn}; the server itself is tested in the ffn-node module. */
class FfnCommandTest {
    @TempDir
    static Path dir;

    static Path model;

    private final CliRun cli = new CliRun();
    private final StringWriter out = cli.out;
    private final StringWriter err = cli.err;

    @BeforeAll
    static void makeModel() throws Exception {
        model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), new ModelGenerator.Options(5, DType.BF16, 1, false),
                model);
    }

    private int run(String... args) {
        return cli.execute(args);
    }

    @Test
    void anExpertRangeBeyondTheModelIsAClearError() {
        assertThat(run("ffn", "--model", model.toString(), "--experts", "4-11", "--port", "0")).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo(
                "afd ffn: experts 4-11 exceed the model's 8 routed experts; pick a range within 0-7");
    }

    @Test
    void malformedRangesAndBackendsAreClearErrors() {
        assertThat(run("ffn", "--model", model.toString(), "--experts", "four", "--port", "0")).isEqualTo(1);
        assertThat(err.toString()).contains("expert range 'four' is not FIRST-LAST with whole numbers, e.g. 0-23");
        assertThat(run("ffn", "--model", model.toString(), "--experts", "0-7", "--port", "0", "--backend", "gpu"))
                .isEqualTo(1);
        assertThat(err.toString()).contains("--backend must be auto, cpu or cuda, got 'gpu'");
    }

    @Test
    void exactlyOneOfExpertsAndGroupSize() {
        String error = "afd ffn: give exactly one of --experts (the experts this node holds) or --group-size (derive"
                + " them from the node's ordinal)";
        assertThat(run("ffn", "--model", model.toString(), "--port", "0")).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo(error);
        assertThat(run("ffn", "--model", model.toString(), "--experts", "0-7", "--group-size", "2", "--port", "0"))
                .isEqualTo(1);
        assertThat(err.toString().strip()).endsWith(error);
        assertThat(run("ffn", "--model", model.toString(), "--group-size", "9", "--ordinal", "0", "--port", "0"))
                .isEqualTo(1);
        assertThat(err.toString().strip()).endsWith(
                "afd ffn: --group-size must be between 1 and the model's 8 routed experts, got 9");
    }

    @Test
    void cudaWithoutAUsableGpuFailsAtStartWithTheReason() {
        CudaProbe.Verdict verdict = CudaProbe.verdict();
        assumeFalse(verdict.available(), "this machine has a usable GPU (" + verdict.description()
                + "), so --backend cuda would start serving");
        assertThat(run("ffn", "--model", model.toString(), "--experts", "0-7", "--port", "0", "--backend", "cuda"))
                .isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("afd ffn: --backend cuda: " + verdict.description()
                + "; use --backend auto or cpu to run on the CPU");
    }

    @Test
    void helpDocumentsEveryOptionWithItsDefault() {
        assertThat(run("ffn", "--help")).isZero();
        String help = out.toString().replaceAll("\\s+", " ");
        assertThat(help).contains("--model", "--experts", "--group-size", "--ordinal", "--port", "Required; no default.", "Default: 0.0.0.0.",
                "auto, cpu or cuda", "Default: auto.", "--[no-]prefault", "Default: true.");
    }
}
