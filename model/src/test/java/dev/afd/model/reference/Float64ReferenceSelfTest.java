package dev.afd.model.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.afd.model.reference.Float64Reference.Request;
import dev.afd.model.reference.Float64Reference.TopLogprob;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The float64 reference checks itself (its Python tests) and the harness reads what it prints. */
class Float64ReferenceSelfTest {

    private static final int[] PROMPT = {1, 2, 3, 4, 5};

    @TempDir
    Path tmp;

    @BeforeAll
    static void requirePythonWithNumpy() {
        assumeTrue(Float64Reference.available(), "python3 with numpy is not installed");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"test_step3_reference.py", "test_step3p5_reference.py"})
    void pythonSelfTestsPass(String script) {
        // TMPDIR keeps the Python tests' checkpoints inside this test's own folder.
        var run = Float64Reference.python(List.of(Float64Reference.pythonScript(script).toString()),
                Map.of("TMPDIR", tmp.toString()), Duration.ofMinutes(5));

        assertThat(run.exitCode()).as("python unittest output:%n%s", run.stderr()).isZero();
    }

    @Test
    void harnessReturnsTheGreedyGeneration() {
        Path model = tinyCheckpoint();

        var result = Float64Reference.generate(Request.greedy(model, PROMPT, 16).withTopN(3));

        assertThat(result.finishReason()).isEqualTo("length");
        assertThat(result.tokenIds()).hasSize(16);
        assertThat(Arrays.stream(result.tokenIds())).allMatch(id -> id >= 0 && id < 97);
        assertThat(result.logprobs()).hasSize(16);
        assertThat(Arrays.stream(result.logprobs())).allMatch(lp -> lp <= 0 && lp > -50);
        assertThat(result.top()).hasSize(16);
        for (int step = 0; step < 16; step++) {
            List<TopLogprob> top = result.top().get(step);
            assertThat(top).hasSize(3)
                    .isSortedAccordingTo(Comparator.comparingDouble(TopLogprob::logprob).reversed());
            assertThat(top.getFirst()).isEqualTo(new TopLogprob(result.tokenIds()[step], result.logprobs()[step]));
        }
    }

    @Test
    void eosStopsGenerationUnlessIgnored() {
        Path model = tinyCheckpoint();
        var free = Float64Reference.generate(Request.greedy(model, PROMPT, 8));
        int eos = free.tokenIds()[0];

        var stopped = Float64Reference.generate(Request.greedy(model, PROMPT, 8).withEos(eos));
        var ignored = Float64Reference.generate(Request.greedy(model, PROMPT, 8).withEos(eos).withIgnoreEos(true));

        assertThat(stopped.finishReason()).isEqualTo("stop");
        assertThat(stopped.tokenIds()).containsExactly(eos);
        assertThat(ignored.finishReason()).isEqualTo("length");
        assertThat(ignored.tokenIds()).containsExactly(free.tokenIds());
        assertThat(ignored.logprobs()).containsExactly(free.logprobs());
    }

    @Test
    void failureCarriesTheScriptsMessage() {
        assertThatThrownBy(() -> Float64Reference.generate(Request.greedy(tmp.resolve("absent"), PROMPT, 2)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("exit 1")
                .hasMessageContaining("config.json does not exist");
    }

    private Path tinyCheckpoint() {
        Path dir = tmp.resolve("tiny");
        var run = Float64Reference.python(
                List.of(Float64Reference.pythonScript("step3_checkpoint_writer.py").toString(), dir.toString(),
                        "--seed", "11", "--dtype", "BF16"),
                Map.of(), Duration.ofMinutes(1));
        assertThat(run.exitCode()).as("checkpoint writer:%n%s", run.stderr()).isZero();
        return dir;
    }
}
