package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.bench.serve.FakeOpenAiServer.Reply;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Warm-ups, the time limit, per-request records and the default result folder, end to end against a fake server. */
class ServeRunOptionsTest {
    private static final double INF = Double.POSITIVE_INFINITY;

    @TempDir
    Path dir;

    private static ServeBench.Options options(FakeOpenAiServer server, Dataset dataset, int prompts, double rate,
            int warmups, Duration maxDuration, boolean detailed) {
        return new ServeBench.Options(server.baseUrl(), "fake-model", null, null, Duration.ofSeconds(10), prompts,
                dataset, List.of(rate), 1, List.of(0), Slo.NONE, 1, warmups, maxDuration, detailed);
    }

    @Test
    void warmUpsGoFirstAndStayOutOfTheFigures() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> Reply.stream(3, 0, 0))) {
            ServeBench.Result result = ServeBench.run(options(server, new RandomDataset(Lengths.fixed(8, 3), 256), 5,
                    INF, 4, null, false), null, line -> { });
            assertThat(server.requests()).isEqualTo(1 + 4 + 5); // the probe, the warm-ups, the run
            assertThat(result.runs().getFirst().completed()).isEqualTo(5);
            assertThat(result.details()).isEmpty();
        }
    }

    @Test
    void noRequestIsSentAfterTheTimeLimit() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> Reply.stream(2, 0, 0))) {
            ServeBench.Result result = ServeBench.run(options(server, new RandomDataset(Lengths.fixed(8, 2), 256), 200,
                    20, 0, Duration.ofMillis(500), false), null, line -> { });
            RunMetrics run = result.runs().getFirst();
            // About 10 arrivals at 20/s in half a second (Poisson), far fewer than the 200 the run holds.
            assertThat(run.completed() + run.failed()).isBetween(2, 30);
            assertThat(run.durationSeconds()).isLessThan(2.0);
            assertThat(server.requests()).isEqualTo(1 + run.completed() + run.failed());
        }
    }

    @Test
    void detailedRecordsListEveryRequestUnderVllmsNames() throws Exception {
        int chunks = 4;
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> n == 3
                ? Reply.of(FakeOpenAiServer.Mode.HTTP_500) : Reply.stream(chunks, 5, 2))) {
            ServeBench.Result result = ServeBench.run(options(server, new RandomDataset(Lengths.fixed(8, chunks), 256),
                    6, INF, 0, null, true), null, line -> { });
            ServeReport.write(result, dir, "detailed");
        }
        JsonNode run = new ObjectMapper().readTree(dir.resolve("detailed.json").toFile()).get("runs").get(0);
        JsonNode requests = run.get("requests");
        for (String column : List.of("input_lens", "output_lens", "start_times", "ttfts", "e2els", "itls", "errors")) {
            assertThat(requests.get(column)).as(column).hasSize(6);
        }
        assertThat(run.get("failed").asInt()).isEqualTo(1);
        int failures = 0;
        for (int i = 0; i < 6; i++) {
            String error = requests.get("errors").get(i).asText();
            if (!error.isEmpty()) {
                failures++;
                assertThat(error).startsWith("http_500");
                assertThat(requests.get("ttfts").get(i).isNull()).isTrue();
                continue;
            }
            assertThat(requests.get("input_lens").get(i).asInt()).isEqualTo(7); // the server's usage figure
            assertThat(requests.get("output_lens").get(i).asInt()).isEqualTo(chunks);
            double ttft = requests.get("ttfts").get(i).asDouble();
            assertThat(ttft).isBetween(0.004, 5.0); // seconds, as vLLM writes them
            assertThat(requests.get("e2els").get(i).asDouble()).isGreaterThanOrEqualTo(ttft);
            assertThat(requests.get("itls").get(i)).hasSize(chunks - 1);
        }
        assertThat(failures).isEqualTo(1);
    }

    @Test
    void aShareGptRunMeasuresLengthsWithTheServersTokenizer() throws Exception {
        Path file = dir.resolve("sharegpt.json");
        Files.writeString(file, """
                [{"conversations": [{"from": "human", "value": "what is the capital of France"},
                                    {"from": "gpt", "value": "Paris is the capital of France"}]}]
                """);
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> Reply.stream(6, 0, 0))) {
            ServeBench.Result result = ServeBench.run(options(server, new ShareGptDataset(file, OptionalInt.empty()),
                    3, INF, 0, null, false), null, line -> { });
            assertThat(result.options().resolvedEndpoint()).isEqualTo(Endpoint.CHAT);
            assertThat(result.runs().getFirst().completed()).isEqualTo(3);
            assertThat(result.runs().getFirst().outputTokens()).isEqualTo(3 * 6);
        }
    }

    @Test
    void theDefaultResultFolderIsANewOneEachTime() throws Exception {
        Clock clock = Clock.fixed(Instant.parse("2026-12-06T02:15:00Z"), ZoneOffset.UTC);
        Path first = ResultFolder.fresh(dir.resolve("bench-results"), "serve", clock);
        Path second = ResultFolder.fresh(dir.resolve("bench-results"), "serve", clock);
        assertThat(first.getFileName()).hasToString("serve-20261206-021500");
        assertThat(second.getFileName()).hasToString("serve-20261206-021500-2");
        assertThat(first).isEmptyDirectory();
        assertThat(second).isEmptyDirectory();
        assertThat(ResultFolder.PARENT).isNotEqualTo(Path.of("benchmarks", "results"));
    }
}
