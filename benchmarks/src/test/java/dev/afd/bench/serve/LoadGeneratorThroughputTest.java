package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * How many short requests per second the generator drives against a trivial server in this JVM. Printed, not
 * asserted: the figure depends on the machine and on what else runs. The one-core check of the target (>= 1,000/s)
 * runs the server in another process on another core, see {@link TrivialSseServer#main}.
 */
class LoadGeneratorThroughputTest {
    @Test
    void shortRequestsPerSecondAgainstATrivialServer() throws Exception {
        try (TrivialSseServer server = new TrivialSseServer(0);
                OpenAiClient client = new OpenAiClient(server.baseUrl(), null, Duration.ofSeconds(30))) {
            Load closedLoop = new Load(Double.POSITIVE_INFINITY, 1, 32);
            List<PreparedRequest> warmups = new RandomDataset(Lengths.fixed(8, 1), 256).requests("m", 500, 1);
            LoadGenerator.run(client, Endpoint.COMPLETIONS, warmups, closedLoop, 1,
                    new LoadGenerator.Progress()); // warm-up: connections and JIT
            List<PreparedRequest> requests = new RandomDataset(Lengths.fixed(8, 1), 256)
                    .requests("m", 3000, 2);
            LoadGenerator.Run run = LoadGenerator.run(client, Endpoint.COMPLETIONS, requests, closedLoop, 1,
                    new LoadGenerator.Progress());
            assertThat(run.outcomes()).allMatch(RequestOutcome::ok);
            System.out.printf(Locale.ROOT, "load generator: %.0f short requests/s against a trivial server in the"
                    + " same JVM (%d cores shared by both)%n", requests.size() / (run.durationNanos() / 1e9),
                    Runtime.getRuntime().availableProcessors());
        }
    }
}
