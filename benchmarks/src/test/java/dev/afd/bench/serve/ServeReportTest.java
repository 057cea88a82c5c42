package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.bench.serve.FakeOpenAiServer.Reply;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A sweep end to end: the server is probed, each run measured, and JSON, markdown and the plot written. */
class ServeReportTest {
    @TempDir
    Path dir;

    private static ServeBench.Options options(FakeOpenAiServer server, List<Double> rates, List<Integer> caps) {
        return new ServeBench.Options(server.baseUrl(), null, null, null, Duration.ofSeconds(10), 6,
                new RandomDataset(Lengths.fixed(16, 4), 256), rates, 1, caps, Slo.parse(List.of("ttft:1000,tpot:500")),
                3, 0, null, false);
    }

    @Test
    void aSweepWritesJsonMarkdownAndALatencyPlot() throws Exception {
        ServeBench.Result result;
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> Reply.stream(4, 20, 5))) {
            result = ServeBench.run(options(server, List.of(30.0, Double.POSITIVE_INFINITY), List.of(0)), null,
                    line -> { });
            assertThat(server.requests()).isEqualTo(1 + 2 * 6); // the probe, then two runs
        }
        assertThat(result.model()).isEqualTo("fake-model"); // from GET /v1/models
        ServeReport.Written written = ServeReport.write(result, dir, "sweep");
        assertThat(written.files()).containsExactly(dir.resolve("sweep.json"), dir.resolve("sweep.md"),
                dir.resolve("sweep-latency.png"));

        JsonNode json = new ObjectMapper().readTree(dir.resolve("sweep.json").toFile());
        assertThat(json.get("benchmark").asText()).isEqualTo("afd bench serve");
        assertThat(json.get("environment").get("model").asText()).isEqualTo("fake-model");
        JsonNode runs = json.get("runs");
        assertThat(runs).hasSize(2);
        assertThat(runs.get(0).get("label").asText()).isEqualTo("rate 30/s");
        assertThat(runs.get(1).get("request_rate").asText()).isEqualTo("inf");
        for (JsonNode run : runs) {
            assertThat(run.get("completed").asInt()).isEqualTo(6);
            assertThat(run.get("total_output_tokens").asInt()).isEqualTo(24);
            assertThat(run.get("median_ttft_ms").asDouble()).isGreaterThanOrEqualTo(20);
            assertThat(run.get("p99_itl_ms").asDouble()).isGreaterThanOrEqualTo(run.get("median_itl_ms").asDouble());
            assertThat(run.get("request_goodput").asDouble()).isEqualTo(run.get("request_throughput").asDouble());
            assertThat(run.get("errors")).isEmpty();
        }
        assertThat(json.get("results").findValuesAsText("metric")).contains("request throughput", "TTFT p99",
                "TPOT p50", "ITL p90", "E2EL mean", "goodput (ttft:1000,tpot:500)", "failed requests");
        assertThat(json.get("figures").get(0).get("file").asText()).isEqualTo("sweep-latency.png");

        String md = Files.readString(dir.resolve("sweep.md"));
        assertThat(md).startsWith("# afd bench serve").contains("| TTFT p99 | rate 30/s |", "| TTFT p99 | all at once |",
                "![latency against output token throughput](sweep-latency.png)");

        BufferedImage png = ImageIO.read(dir.resolve("sweep-latency.png").toFile());
        assertThat(png.getWidth()).isEqualTo(LatencyPlot.WIDTH);
        assertThat(png.getHeight()).isEqualTo(2 * LatencyPlot.PANEL_HEIGHT);
        assertThat(colouredPixels(png, 0, LatencyPlot.PANEL_HEIGHT)).as("TTFT panel has lines").isGreaterThan(200);
        assertThat(colouredPixels(png, LatencyPlot.PANEL_HEIGHT, png.getHeight())).as("TPOT panel has lines")
                .isGreaterThan(200);
    }

    @Test
    void oneRunWritesNoPlotAndAConcurrencySweepIsLabelledByCap() throws Exception {
        ServeBench.Result one;
        ServeBench.Result caps;
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> Reply.stream(2, 0, 1))) {
            one = ServeBench.run(options(server, List.of(Double.POSITIVE_INFINITY), List.of(0)), null, line -> { });
            caps = ServeBench.run(options(server, List.of(Double.POSITIVE_INFINITY), List.of(1, 4)), null,
                    line -> { });
        }
        assertThat(ServeReport.write(one, dir, "one").files()).hasSize(2);
        assertThat(Files.exists(dir.resolve("one-latency.png"))).isFalse();
        assertThat(caps.runs()).extracting(r -> r.load().label()).containsExactly("concurrency 1", "concurrency 4");
        assertThat(caps.runs().get(0).maxInFlight()).isEqualTo(1);
    }

    @Test
    void aFailingProbeStopsBeforeAnyRunWithTheServersReason() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> Reply.of(FakeOpenAiServer.Mode.HTTP_500))) {
            assertThatThrownBy(() -> ServeBench.run(options(server, List.of(1.0), List.of(0)), null, line -> { }))
                    .hasMessageContaining("the test request").hasMessageContaining("http_500: scripted failure");
            assertThat(server.requests()).isEqualTo(1);
        }
        Dataset random = new RandomDataset(Lengths.fixed(1, 1), 256);
        assertThatThrownBy(() -> new ServeBench.Options(java.net.URI.create("http://x"), "m", null, null,
                Duration.ofSeconds(1), 1, random, List.of(1.0, 2.0), 1, List.of(1, 2), Slo.NONE, 0, 0, null, false))
                .hasMessageContaining("not both");
        assertThatThrownBy(() -> new ServeBench.Options(java.net.URI.create("http://x"), "m", Endpoint.CHAT, null,
                Duration.ofSeconds(1), 1, random, List.of(1.0), 1, List.of(0), Slo.NONE, 0, 0, null, false))
                .hasMessageContaining("--dataset sharegpt or jsonl");
    }

    private static int colouredPixels(BufferedImage image, int fromY, int toY) {
        int n = 0;
        for (int y = fromY; y < toY; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                int r = (rgb >> 16) & 0xff;
                int g = (rgb >> 8) & 0xff;
                int b = rgb & 0xff;
                if (Math.max(r, Math.max(g, b)) - Math.min(r, Math.min(g, b)) > 80) {
                    n++;
                }
            }
        }
        return n;
    }
}
