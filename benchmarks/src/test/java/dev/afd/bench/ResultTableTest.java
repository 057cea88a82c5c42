package dev.afd.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one results format: rows for every benchmark, plus runs and figures where a benchmark has them. */
class ResultTableTest {
    @TempDir
    Path dir;

    @Test
    void rowsAloneKeepTheFormatOfKernelsAndAfd() throws Exception {
        new ResultTable("afd bench kernels").environment("model", "m")
                .add(new ResultTable.Row("one-row matmul bf16", "64x64", 8, "GB/s", "memory read bandwidth", 10, 0.7))
                .add(new ResultTable.Row("layer exchange p50", "batch 1", 120, "µs", "", Double.NaN, Double.NaN))
                .note("a note").write(dir, "kernels");
        JsonNode json = new ObjectMapper().readTree(dir.resolve("kernels.json").toFile());
        assertThat(json.fieldNames()).toIterable().containsExactly("benchmark", "environment", "results", "notes");
        JsonNode row = json.get("results").get(0);
        assertThat(row.get("ratio").asDouble()).isEqualTo(0.8);
        assertThat(row.get("target").asDouble()).isEqualTo(0.7);
        assertThat(json.get("results").get(1).get("peer_value").isNull()).isTrue();
        String md = Files.readString(dir.resolve("kernels.md"));
        assertThat(md).contains("| one-row matmul bf16 | 64x64 | 8.00 GB/s | memory read bandwidth | 10.00 | 80% | ≥ 70% (meets) |",
                "| layer exchange p50 | batch 1 | 120 µs |  | n/a | n/a |  |", "- a note");
        assertThat(md).doesNotContain("![");
    }

    @Test
    void runsAndFiguresGoBesideTheRows() throws Exception {
        ResultTable table = new ResultTable("afd bench serve")
                .add(new ResultTable.Row("request throughput", "rate 2/s", 1.9, "req/s", "offered rate", 2, Double.NaN))
                .run(Map.of("label", "rate 2/s", "median_ttft_ms", 12.5))
                .run(Map.of("label", "rate 4/s", "median_ttft_ms", 30.0))
                .figure("latency against throughput", "serve-latency.png");
        Path md = table.write(dir, "serve");
        JsonNode json = new ObjectMapper().readTree(dir.resolve("serve.json").toFile());
        assertThat(json.fieldNames()).toIterable().containsExactly("benchmark", "environment", "results", "notes",
                "runs", "figures");
        assertThat(json.get("runs").findValuesAsText("label")).isEqualTo(List.of("rate 2/s", "rate 4/s"));
        assertThat(json.get("runs").get(1).get("median_ttft_ms").asDouble()).isEqualTo(30.0);
        assertThat(json.get("figures").get(0).get("caption").asText()).isEqualTo("latency against throughput");
        assertThat(Files.readString(md)).contains("| request throughput | rate 2/s | 1.90 req/s | offered rate | 2.00 | 95% |  |",
                "![latency against throughput](serve-latency.png)");
    }
}
