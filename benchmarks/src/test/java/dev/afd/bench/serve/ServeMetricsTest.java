package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.afd.bench.serve.FakeOpenAiServer.Reply;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Latency figures against a server whose delays are known: the client's clock must see those delays. */
class ServeMetricsTest {
    private static final double INF = Double.POSITIVE_INFINITY;

    @TempDir
    Path dir;

    @Test
    void ttftItlTpotAndE2elFollowTheServersDelays() throws Exception {
        int chunks = 6;
        long first = 120;
        long gap = 25;
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> Reply.stream(chunks, first, gap));
                OpenAiClient client = new OpenAiClient(server.baseUrl(), null, Duration.ofSeconds(10))) {
            List<PreparedRequest> requests = new RandomDataset(Lengths.fixed(16, chunks), 256)
                    .requests("fake-model", 8, 1);
            // A first request loads the HTTP stack's classes on both sides, as the benchmark's probe does.
            assertThat(client.send(Endpoint.COMPLETIONS, requests.getFirst()).join().ok()).isTrue();
            LoadGenerator.Run run = LoadGenerator.run(client, Endpoint.COMPLETIONS, requests, new Load(INF, 1, 0), 1,
                    new LoadGenerator.Progress());
            RunMetrics m = RunMetrics.of(run, Slo.NONE);

            assertThat(m.completed()).isEqualTo(8);
            assertThat(m.failed()).isZero();
            assertThat(m.outputTokens()).isEqualTo(8L * chunks);
            assertThat(m.inputTokens()).isEqualTo(8L * 7); // the usage chunk's prompt_tokens wins
            // The server sleeps at least each delay; the client may add a little on a busy machine.
            assertThat(m.ttft().p50()).isBetween((double) first, first + 80.0);
            assertThat(m.ttft().p99()).isBetween((double) first, first + 120.0);
            assertThat(m.itl().count()).isEqualTo(8 * (chunks - 1));
            assertThat(m.itl().p50()).isBetween(gap - 5.0, gap + 20.0);
            assertThat(m.tpot().count()).isEqualTo(8);
            assertThat(m.tpot().mean()).isBetween(gap - 5.0, gap + 20.0);
            double e2el = first + (chunks - 1) * gap;
            assertThat(m.e2el().p50()).isBetween(e2el, e2el + 120);
            for (RequestOutcome o : run.outcomes()) {
                long itlSum = Arrays.stream(o.itlNanos()).sum();
                // E2EL is TTFT, then the gaps, then the usage chunk and [DONE] right after the last token.
                assertThat(o.e2elMs()).isGreaterThanOrEqualTo(o.ttftMs() + itlSum / 1e6 - 1e-9);
                assertThat(o.tpotMs()).isCloseTo((o.e2elMs() - o.ttftMs()) / (chunks - 1), within(1e-9));
            }
            assertThat(m.requestThroughput()).isCloseTo(8 / m.durationSeconds(), within(1e-9));
            assertThat(m.outputThroughput()).isCloseTo(8.0 * chunks / m.durationSeconds(), within(1e-9));
            assertThat(m.durationSeconds()).isBetween(e2el / 1000, e2el / 1000 + 1);
        }
    }

    @Test
    void withoutAUsageChunkOutputTokensAreTheChunksAndChatPromptsComeFromJsonlThroughAProxyPrefix() throws Exception {
        Path dataset = dir.resolve("chat.jsonl");
        Files.writeString(dataset, """
                {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}

                {"prompt": "tell me a story"}
                """);
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> new Reply(FakeOpenAiServer.Mode.STREAM, 4, 0, 5, false));
                OpenAiClient client = new OpenAiClient(URI.create(server.baseUrl() + "/proxy/"), "secret",
                        Duration.ofSeconds(10))) {
            List<PreparedRequest> requests = new JsonlDataset(dataset, 4).requests(
                    new Dataset.Context(Endpoint.CHAT, "fake-model", null), 5, 0);
            LoadGenerator.Run run = LoadGenerator.run(client, Endpoint.CHAT, requests, new Load(INF, 1, 2), 1,
                    new LoadGenerator.Progress());
            RunMetrics m = RunMetrics.of(run, Slo.NONE);
            assertThat(m.completed()).isEqualTo(5);
            assertThat(m.outputTokens()).isEqualTo(5 * 4);
            assertThat(m.inputTokens()).isZero(); // unknown: no usage, and a chat prompt's length is the server's
            assertThat(m.itl().count()).isEqualTo(5 * 3);
            assertThat(server.authorizations()).containsOnly("Bearer secret");
        }
    }

    @Test
    void percentilesInterpolateBetweenRanksLikeNumpy() {
        // numpy.percentile([1, 2, 3, 4], [50, 90, 99]) = 2.5, 3.7, 3.97
        Distribution d = Distribution.of(new double[] {4, 1, 3, 2});
        assertThat(d.mean()).isEqualTo(2.5);
        assertThat(d.p50()).isCloseTo(2.5, within(1e-12));
        assertThat(d.p90()).isCloseTo(3.7, within(1e-12));
        assertThat(d.p99()).isCloseTo(3.97, within(1e-12));
        assertThat(Distribution.of(new double[] {7}).p99()).isEqualTo(7);
        assertThat(Distribution.of(new double[0]).p50()).isNaN();

        // Random samples against a plain reference: the count of samples at or below p is about p percent.
        SplittableRandom random = new SplittableRandom(3);
        double[] samples = random.doubles(1001).map(u -> -Math.log(1 - u) * 40).toArray();
        Distribution r = Distribution.of(samples);
        double[] sorted = samples.clone();
        Arrays.sort(sorted);
        assertThat(r.p50()).isEqualTo(sorted[500]); // rank 0.5 * 1000 is exact
        assertThat(r.p90()).isEqualTo(sorted[900]);
        assertThat(r.p99()).isEqualTo(sorted[990]);
        assertThat(r.mean()).isCloseTo(Arrays.stream(samples).average().orElseThrow(), within(1e-9));
    }
}
