package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchPathsCommandTest {
    @TempDir
    Path dir;

    @Test
    void measuresTheThreePathsOverTheSameTokens() throws Exception {
        Path model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), model);
        CliRun cli = new CliRun();
        int code = cli.execute("bench", "paths", "--model", model.toString(), "--result-dir", dir.toString(),
                "--tokens", "40", "--from", "11", "--warm-up-tokens", "8", "--ffn-nodes", "2");
        assertThat(code).as(cli.err.toString()).isZero();

        JsonNode rows = new ObjectMapper().readTree(dir.resolve("paths.json").toFile()).path("results");
        List<String> metrics = new ArrayList<>();
        for (JsonNode row : rows) {
            metrics.add(row.path("metric").asText());
            assertThat(row.path("value").asDouble()).as(row.toString()).isPositive().isFinite();
        }
        assertThat(metrics).contains("decode tokens/s, kernels alone",
                "decode tokens/s, offline engine (afd generate)", "decode tokens/s, serve --local");
    }

    @Test
    void theRateCountsTheTokensBetweenTwoArrivals() {
        long[] arrivals = {0, 1_000_000_000L, 1_500_000_000L, 2_000_000_000L};
        assertThat(BenchPathsCommand.rate(arrivals, 2, 4)).isEqualTo(2.0);
    }
}
