package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.afd.bench.serve.FakeOpenAiServer.Reply;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Open-loop arrivals: the gamma process's moments, and the send times a real server sees. */
class ServeArrivalsTest {
    @ParameterizedTest
    @ValueSource(doubles = {1, 0.25, 4})
    void intervalsHaveMeanOneOverRateAndTheGammaSpread(double burstiness) {
        int n = 20_001;
        double rate = 100;
        long[] t = Arrivals.offsetsNanos(n, rate, burstiness, 42);
        double[] gaps = new double[n - 1];
        for (int i = 1; i < n; i++) {
            gaps[i - 1] = (t[i] - t[i - 1]) / 1e9;
            assertThat(gaps[i - 1]).isGreaterThanOrEqualTo(0);
        }
        double mean = Arrays.stream(gaps).average().orElseThrow();
        double variance = Arrays.stream(gaps).map(g -> (g - mean) * (g - mean)).sum() / (gaps.length - 1);
        assertThat(t[0]).isZero();
        assertThat(mean).isCloseTo(1 / rate, within(0.03 / rate));
        // A gamma of shape k has coefficient of variation 1/sqrt(k): 1 for Poisson, 2 for k = 1/4, 1/2 for k = 4.
        assertThat(Math.sqrt(variance) / mean).isCloseTo(1 / Math.sqrt(burstiness), within(0.08 / Math.sqrt(burstiness)));
    }

    @Test
    void anInfiniteRateSendsEverythingAtOnceAndBadKnobsAreRefused() {
        assertThat(Arrivals.offsetsNanos(5, Double.POSITIVE_INFINITY, 1, 0)).containsOnly(0L);
        assertThatThrownBy(() -> Arrivals.offsetsNanos(5, 0, 1, 0)).hasMessageContaining("--request-rate");
        assertThatThrownBy(() -> Arrivals.offsetsNanos(5, 1, -1, 0)).hasMessageContaining("--burstiness");
    }

    @Test
    void theServerSeesRequestsAtThePoissonSendTimes() throws Exception {
        int n = 40;
        double rate = 40;
        long seed = 7;
        long[] planned = Arrivals.offsetsNanos(n, rate, 1, seed);
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> Reply.stream(1, 0, 0));
                OpenAiClient client = new OpenAiClient(server.baseUrl(), null, Duration.ofSeconds(10))) {
            List<PreparedRequest> requests = new RandomDataset(Lengths.fixed(4, 1), 256)
                    .requests("fake-model", n, 1);
            LoadGenerator.Run run = LoadGenerator.run(client, Endpoint.COMPLETIONS, requests, new Load(rate, 1, 0),
                    seed, new LoadGenerator.Progress());
            assertThat(run.outcomes()).allMatch(RequestOutcome::ok);
            List<Long> seen = server.arrivals().stream().sorted().toList();
            assertThat(seen).hasSize(n);
            // The whole span, and every arrival, match the plan to within scheduling noise.
            assertThat((seen.get(n - 1) - seen.get(0)) / 1e6).isCloseTo(planned[n - 1] / 1e6, within(40.0));
            for (int i = 0; i < n; i++) {
                assertThat((seen.get(i) - seen.get(0)) / 1e6).isCloseTo(planned[i] / 1e6, within(60.0));
            }
            // ~1 s at 40 requests/s: the plan's own mean interval is near 1/rate.
            assertThat(planned[n - 1] / 1e9 / (n - 1)).isCloseTo(1 / rate, within(0.4 / rate));
        }
    }
}
