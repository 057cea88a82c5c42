package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.attention.node.PrometheusText;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * serve --local's processes come up; generate --attention against them equals offline generate, and the gateway in
 * front of them answers with the same tokens.
 */
class LocalDeploymentTest {
    @TempDir
    Path dir;

    private static String run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        assertThat(cl.execute(args)).as(err.toString()).isZero();
        return out.toString();
    }

    @Test
    void generateAndTheGatewayAgainstTheLocalDeploymentEqualOfflineGenerate() throws Exception {
        Path model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), model);
        String[] common = {"--prompt-ids", "3,1,4,1,5,9,2,6", "--max-tokens", "12", "--ignore-eos", "--json",
            "--kv-dtype", "f32"};
        String offline = run(concat(new String[] {"generate", "--model", model.toString(), "--ffn-shards", "2",
            "--wire-dtype", "f32", "--kv-memory-mb", "16"}, common));
        JsonNode offlineJson = new ObjectMapper().readTree(offline);
        try (LocalDeployment d = new LocalDeployment(
                new LocalDeployment.Layout(model, ModelPreset.TINY.config(false).numExperts(), 2, 1, 2, 0, 0),
                List.of("--wire-dtype", "f32", "--response-dtype", "f32", "--kv-dtype", "f32", "--kv-memory-mb", "16"),
                List.of(), List.of(), Map.of("AFD_GATEWAY_API_KEY", "k"), Duration.ofSeconds(120))) {
            // The key reaches the gateway through its environment: no process's arguments show it.
            for (Process p : d.processes()) {
                assertThat(p.info().arguments().map(List::of).orElse(List.of())).doesNotContain("--api-key", "k");
            }
            assertThat(d.attentionTargets()).hasSize(2);
            for (String target : d.attentionTargets()) {
                JsonNode remoteJson = new ObjectMapper().readTree(run(concat(new String[] {"generate", "--attention",
                    target}, common)));
                assertThat(remoteJson.path("token_ids")).as(target).isEqualTo(offlineJson.path("token_ids"))
                        .hasSize(12);
                assertThat(remoteJson.path("finish_reason").asText()).isEqualTo("length");
                // Same ffn layout and wire dtype: the separate processes give exactly the single process's numbers.
                assertThat(remoteJson.path("logprobs")).as(target).isEqualTo(offlineJson.path("logprobs"));
            }

            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create(d.gatewayUrl() + "/v1/completions"))
                    .header("Authorization", "Bearer k")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"tiny\", \"prompt\": [3, 1, 4, 1, 5, 9,"
                            + " 2, 6], \"max_tokens\": 12, \"temperature\": 0, \"ignore_eos\": true}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode choice = new ObjectMapper().readTree(r.body()).path("choices").get(0);
            long[] ids = toLongs(offlineJson.path("token_ids"));
            try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(model.resolve("tokenizer.json"),
                    Map.of("truncation", "false"))) {
                assertThat(choice.path("text").asText()).isEqualTo(t.decode(ids, true));
            }
            assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
            // Every process answers on the metrics URL serve --local prints, about its own work.
            List<LocalDeployment.MetricsUrl> urls = d.metricsUrls();
            assertThat(urls).extracting(u -> u.process().split(" ")[0])
                    .containsExactly("ffn-node", "ffn-node", "attention", "attention", "gateway");
            for (LocalDeployment.MetricsUrl u : urls) {
                assertThat(u.url()).matches("http://127\\.0\\.0\\.1:\\d+/metrics");
                PrometheusText scraped = PrometheusText.scrape(u.url());
                switch (u.process().split(" ")[0]) {
                    case "ffn-node" -> assertThat(scraped.value("afd_ffn_node_frames_total")).as(u.process())
                            .isPositive();
                    case "attention" -> assertThat(scraped.value("vllm:generation_tokens_total", "model_name",
                            "tiny")).as(u.process()).isGreaterThanOrEqualTo(12);
                    default -> assertThat(scraped.value("afd_gateway_attention_nodes_ready")).as(u.process())
                            .isEqualTo(2);
                }
            }
        }
    }

    private static long[] toLongs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
