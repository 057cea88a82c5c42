package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.bench.serve.FakeOpenAiServer.Reply;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A concurrency cap holds both in a closed loop and under an open-loop rate, as the server counts it. */
class LoadConcurrencyTest {
    @Test
    void aClosedLoopKeepsExactlyTheCapInFlight() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> Reply.stream(3, 10, 5));
                OpenAiClient client = new OpenAiClient(server.baseUrl(), null, Duration.ofSeconds(10))) {
            List<PreparedRequest> requests = new RandomDataset(Lengths.fixed(8, 3), 256)
                    .requests("fake-model", 30, 1);
            LoadGenerator.Run run = LoadGenerator.run(client, Endpoint.COMPLETIONS, requests,
                    new Load(Double.POSITIVE_INFINITY, 1, 3), 1, new LoadGenerator.Progress());
            assertThat(run.outcomes()).hasSize(30).allMatch(RequestOutcome::ok);
            assertThat(server.maxInFlight()).isEqualTo(3);
            assertThat(run.maxInFlight()).isEqualTo(3);
        }
    }

    @Test
    void anOpenLoopRateWithACapNeverExceedsIt() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> Reply.stream(2, 40, 10));
                OpenAiClient client = new OpenAiClient(server.baseUrl(), null, Duration.ofSeconds(10))) {
            List<PreparedRequest> requests = new RandomDataset(Lengths.fixed(8, 2), 256)
                    .requests("fake-model", 20, 1);
            LoadGenerator.Progress progress = new LoadGenerator.Progress();
            LoadGenerator.Run run = LoadGenerator.run(client, Endpoint.COMPLETIONS, requests, new Load(200, 1, 2), 1,
                    progress);
            assertThat(run.outcomes()).allMatch(RequestOutcome::ok);
            assertThat(server.maxInFlight()).isEqualTo(2);
            assertThat(run.maxInFlight()).isLessThanOrEqualTo(2);
            assertThat(progress.finished()).isEqualTo(20);
            assertThat(progress.failed()).isZero();
        }
    }
}
