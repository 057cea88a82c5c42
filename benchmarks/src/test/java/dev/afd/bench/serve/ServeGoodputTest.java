package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.afd.bench.serve.FakeOpenAiServer.Reply;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Goodput counts the requests that meet every SLO. */
class ServeGoodputTest {
    @Test
    void onlyRequestsMeetingEverySloCount() throws Exception {
        // n % 3: 0 fast, 1 slow first token (200 ms), 2 slow tokens (60 ms apart).
        try (FakeOpenAiServer server = new FakeOpenAiServer(n -> switch (n % 3) {
            case 0 -> Reply.stream(3, 5, 5);
            case 1 -> Reply.stream(3, 200, 5);
            default -> Reply.stream(3, 5, 60);
        }); OpenAiClient client = new OpenAiClient(server.baseUrl(), null, Duration.ofSeconds(10))) {
            List<PreparedRequest> requests = new RandomDataset(Lengths.fixed(8, 3), 256)
                    .requests("fake-model", 12, 1);
            LoadGenerator.Run run = LoadGenerator.run(client, Endpoint.COMPLETIONS, requests,
                    new Load(Double.POSITIVE_INFINITY, 1, 0), 1, new LoadGenerator.Progress());

            RunMetrics both = RunMetrics.of(run, Slo.parse(List.of("ttft:100,tpot:30")));
            assertThat(both.goodput() * both.durationSeconds()).isCloseTo(4, within(1e-9));
            RunMetrics ttftOnly = RunMetrics.of(run, Slo.parse(List.of("ttft:100")));
            assertThat(ttftOnly.goodput() * ttftOnly.durationSeconds()).isCloseTo(8, within(1e-9));
            RunMetrics loose = RunMetrics.of(run, Slo.parse(List.of("ttft:10000", "e2el:10000")));
            assertThat(loose.goodput()).isCloseTo(loose.requestThroughput(), within(1e-9));
            RunMetrics tight = RunMetrics.of(run, Slo.parse(List.of("e2el:1")));
            assertThat(tight.goodput()).isZero();
            assertThat(RunMetrics.of(run, Slo.NONE).goodput()).isNaN();
        }
    }

    @Test
    void sloBoundsParseAndApply() {
        Slo slo = Slo.parse(List.of("ttft:500,tpot:50.5", "e2el:2000"));
        assertThat(slo).isEqualTo(new Slo(500, 50.5, 2000));
        assertThat(slo.toString()).isEqualTo("ttft:500,tpot:50.5,e2el:2000");
        assertThat(slo.met(500, 50.5, 2000)).isTrue();
        assertThat(slo.met(501, 10, 10)).isFalse();
        assertThat(slo.met(10, 51, 10)).isFalse();
        assertThat(slo.met(10, 10, 2001)).isFalse();
        assertThat(slo.met(10, Double.NaN, 10)).as("a one-token output has no TPOT and passes it").isTrue();
        assertThat(Slo.parse(List.of()).any()).isFalse();
        assertThatThrownBy(() -> Slo.parse(List.of("ttft=500"))).hasMessageContaining("NAME:MILLISECONDS");
        assertThatThrownBy(() -> Slo.parse(List.of("latency:5"))).hasMessageContaining("unknown --goodput metric");
    }
}
