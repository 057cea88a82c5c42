package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serve --local --ffn-nodes 3 --ffn-replicas 2} as separate processes: {@code kill -9} of an ffn-node while
 * eight streams decode costs no request and changes no token, and the node is started again and rejoins.
 */
class LocalFailoverTest {
    private static final int STREAMS = 8;
    private static final int TOKENS = 1500;

    @TempDir
    Path dir;

    @Test
    void killMinus9OfAnFfnNodeFailsNoStream() throws Exception {
        Path model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), model);
        int experts = ModelPreset.TINY.config(false).numExperts();
        try (LocalDeployment d = new LocalDeployment(new LocalDeployment.Layout(model, experts, 3, 2, 1, 0, 0),
                List.of("--wire-dtype", "f32", "--response-dtype", "f32", "--kv-dtype", "f32", "--kv-memory-mb",
                        "32", "--ffn-deadline-ms", "3000"),
                List.of(), List.of(), Map.of(), Duration.ofSeconds(120))) {
            HttpClient http = HttpClient.newHttpClient();
            List<String> undisturbed = run(http, d, null);

            Process victim = d.ffnNode(1);
            List<String> disturbed = run(http, d, streams -> {
                // While the streams decode: SIGKILL, no drain, no goodbye.
                assertThat(streams).noneMatch(CompletableFuture::isDone);
                victim.destroyForcibly();
            });
            assertThat(victim.isAlive()).isFalse();
            assertThat(disturbed).as("every stream finishes with the same text").isEqualTo(undisturbed);

            long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (d.ffnNode(1) == victim || !d.ffnNode(1).isAlive()) {
                assertThat(System.nanoTime()).as("the ffn-node is started again").isLessThan(end);
                Thread.sleep(100);
            }
        }
    }

    /**
     * {@link #STREAMS} streamed greedy completions; {@code meanwhile} gets them once they decode. Returns their
     * texts.
     */
    private static List<String> run(HttpClient http, LocalDeployment d,
            Consumer<List<CompletableFuture<HttpResponse<String>>>> meanwhile) throws Exception {
        List<CompletableFuture<HttpResponse<String>>> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            String body = "{\"model\": \"tiny\", \"prompt\": [" + (3 + i) + ", 1, 4, 1, 5], \"max_tokens\": " + TOKENS
                    + ", \"temperature\": 0, \"ignore_eos\": true, \"stream\": true}";
            streams.add(http.sendAsync(HttpRequest.newBuilder(URI.create(d.gatewayUrl() + "/v1/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        if (meanwhile != null) {
            Thread.sleep(500);
            meanwhile.accept(streams);
        }
        List<String> texts = new ArrayList<>();
        for (CompletableFuture<HttpResponse<String>> s : streams) {
            HttpResponse<String> r = s.get();
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).doesNotContain("\"error\"").endsWith("data: [DONE]\n\n");
            texts.add(r.body().replaceAll("\"(id|created)\":[^,]*,", ""));
        }
        return texts;
    }
}
