package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.reference.Float64Reference;
import dev.afd.model.tensor.DType;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {
    @TempDir
    static Path dir;

    static Path model;

    private final CliRun cli = new CliRun();
    private final StringWriter out = cli.out;
    private final StringWriter err = cli.err;

    @BeforeAll
    static void makeModel() throws Exception {
        System.setProperty("DJL_CACHE_DIR", dir.resolve("djl").toString());
        model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), new ModelGenerator.Options(5, DType.BF16, 1, false),
                model);
    }

    private int run(String... args) {
        return cli.execute(args);
    }

    @Test
    void jsonOutputReproducesTheFloat64Reference() throws Exception {
        assumeTrue(Float64Reference.available(), "python3 with numpy is needed for the float64 reference");
        int[] prompt = {5, 17, 99, 3, 250};
        assertThat(run("generate", "--model", model.toString(), "--prompt-ids", "5,17,99,3,250", "--max-tokens", "20",
                "--kv-dtype", "f32", "--ignore-eos", "--json")).as(err.toString()).isZero();
        JsonNode json = new ObjectMapper().readTree(out.toString());
        Float64Reference.Result expected = Float64Reference.generate(
                Float64Reference.Request.greedy(model, prompt, 20).withIgnoreEos(true));

        assertThat(json.path("finish_reason").asText()).isEqualTo("length");
        assertThat(json.path("token_ids")).hasSize(20);
        for (int t = 0; t < 20; t++) {
            assertThat(json.path("token_ids").get(t).asInt()).as("token %d", t).isEqualTo(expected.tokenIds()[t]);
            assertThat(json.path("logprobs").get(t).asDouble()).isCloseTo(expected.logprobs()[t], within(1e-4));
        }
    }

    @Test
    void sameSeedSameSampledTokens() throws Exception {
        String[] args = {"generate", "--model", model.toString(), "--prompt-ids", "1,2,3", "--max-tokens", "12",
            "--temperature", "1.2", "--top-p", "0.9", "--seed", "77", "--ignore-eos", "--json"};
        assertThat(run(args)).isZero();
        String first = out.toString();
        out.getBuffer().setLength(0);
        assertThat(run(args)).isZero();
        assertThat(out.toString()).isEqualTo(first);
    }

    @Test
    void textPromptsAreTokenizedAndTheContinuationDecoded() {
        assertThat(run("generate", "--model", model.toString(), "--prompt", "Hello, world", "--max-tokens", "8",
                "--ignore-eos")).as(err.toString()).isZero();
        assertThat(out.toString()).isNotBlank();
    }

    @Test
    void userErrorsAreOneLineMessages() {
        assertThat(run("generate", "--model", dir.resolve("missing").toString(), "--prompt-ids", "1")).isEqualTo(1);
        assertThat(err.toString()).contains("missing").doesNotContain("Exception");
        err.getBuffer().setLength(0);
        assertThat(run("generate", "--model", model.toString(), "--prompt-ids", "1,999999")).isEqualTo(1);
        assertThat(err.toString()).contains("999999", "outside the vocabulary");
        err.getBuffer().setLength(0);
        assertThat(run("generate", "--model", model.toString(), "--prompt-ids", "1", "--top-p", "0")).isEqualTo(1);
        assertThat(err.toString()).contains("top_p");
        err.getBuffer().setLength(0);
        assertThat(run("generate", "--model", model.toString(), "--prompt-ids", "1", "--max-tokens", "100000"))
                .isEqualTo(1);
        assertThat(err.toString()).contains("exceeds the model's context");
    }
}
