package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.bench.serve.FakeOpenAiServer.Mode;
import dev.afd.bench.serve.FakeOpenAiServer.Reply;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Failures are counted by kind and never mixed into the latency figures. */
class ServeErrorsTest {
    @Test
    void httpErrorsStreamErrorsAndTimeoutsAreCountedApart() throws Exception {
        Mode[] modes = {Mode.STREAM, Mode.HTTP_500, Mode.STREAM_ERROR, Mode.HANG};
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> n % 4 == 0 ? Reply.stream(3, 0, 5)
                : Reply.of(modes[n % 4]));
                OpenAiClient client = new OpenAiClient(server.baseUrl(), null, Duration.ofMillis(400))) {
            List<PreparedRequest> requests = new RandomDataset(Lengths.fixed(8, 3), 256)
                    .requests("fake-model", 12, 1);
            LoadGenerator.Progress progress = new LoadGenerator.Progress();
            LoadGenerator.Run run = LoadGenerator.run(client, Endpoint.COMPLETIONS, requests, new Load(200, 1, 0), 1,
                    progress);
            RunMetrics m = RunMetrics.of(run, Slo.NONE);

            assertThat(m.errors()).isEqualTo(Map.of("http_500", 3, "stream_error", 3, "timeout", 3));
            assertThat(m.completed()).isEqualTo(3);
            assertThat(m.failed()).isEqualTo(9);
            assertThat(progress.failed()).isEqualTo(9);
            assertThat(m.e2el().count()).isEqualTo(3);
            assertThat(m.outputTokens()).isEqualTo(9);
            assertThat(m.errorSamples()).anyMatch(s -> s.equals("http_500: scripted failure"))
                    .anyMatch(s -> s.equals("stream_error: scripted stream failure"))
                    .anyMatch(s -> s.startsWith("timeout: no [DONE] within 400 ms"));
            // The timed-out requests ended at the deadline, not when the server gave up on them.
            run.outcomes().stream().filter(o -> !o.ok() && o.failure().kind() == RequestOutcome.Kind.TIMEOUT)
                    .forEach(o -> assertThat(o.e2elMs()).isBetween(400.0, 1000.0));
        }
    }

    @Test
    void aServerThatIsNotThereIsAConnectionError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (OpenAiClient client = new OpenAiClient(URI.create("http://127.0.0.1:" + port), null,
                Duration.ofSeconds(5))) {
            List<PreparedRequest> requests = new RandomDataset(Lengths.fixed(4, 2), 256)
                    .requests("m", 3, 1);
            LoadGenerator.Run run = LoadGenerator.run(client, Endpoint.COMPLETIONS, requests,
                    new Load(Double.POSITIVE_INFINITY, 1, 0), 1, new LoadGenerator.Progress());
            RunMetrics m = RunMetrics.of(run, Slo.NONE);
            assertThat(m.errors()).isEqualTo(Map.of("connection", 3));
            assertThat(m.errorSamples().getFirst()).contains("ConnectException");
        }
    }
}
