package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.client.AttentionClient;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.ffn.FfnServer;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.proto.WireDtype;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every node serves {@code /metrics} on a port of its own: an attention node and two ffn-nodes on loopback, scraped
 * over HTTP while requests decode and after they are done. The attention node reports vLLM's engine metrics for its
 * own requests and the AFD exchange as a real histogram; each ffn-node its frames, rows per expert and compute
 * time; all three the JVM's. The two sides' counts of the work agree.
 */
class NodeMetricsTest {
    private static final AttentionNode.Wire WIRE =
            new AttentionNode.Wire(WireDtype.WIRE_BF16, WireDtype.WIRE_BF16, Duration.ofSeconds(10));
    private static final int REQUESTS = 6;
    private static final int PROMPT = 5;
    private static final int TOKENS = 300;

    @TempDir
    Path dir;

    @Test
    @Timeout(300)
    void eachNodeTypeReportsItsWorkDuringAndAfterTraffic() throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        try (Checkpoint checkpoint = Checkpoint.open(dir);
                Cluster cluster = new Cluster(checkpoint, 2, WIRE, EngineOptions.defaults())) {
            int port = cluster.attention.serve("127.0.0.1", 0).port();
            String attention = cluster.attention.serveMetrics("127.0.0.1", 0).url("127.0.0.1");
            List<String> ffn = new ArrayList<>();
            for (FfnServer s : cluster.ffnServers) {
                ffn.add(s.serveMetrics("127.0.0.1", 0).url("127.0.0.1"));
            }
            String model = dir.getFileName().toString();

            List<CompletableFuture<GenerationResult>> traffic = new ArrayList<>();
            try (AttentionClient client = new AttentionClient("127.0.0.1:" + port)) {
                for (int i = 0; i < REQUESTS; i++) {
                    GenerationRequest r = new GenerationRequest(new int[] {3 + i, 1, 4, 1, 5}, TOKENS,
                            SamplingParams.greedy(), true);
                    String id = "r" + i;
                    traffic.add(CompletableFuture.supplyAsync(() -> client.generate(id, r)));
                }
                awaitRunning(cluster.attention);
                PrometheusText during = PrometheusText.scrape(attention);
                assertThat(traffic).as("requests still decoding at the scrape").anyMatch(f -> !f.isDone());
                assertThat(during.value("vllm:num_requests_running", "model_name", model)).isBetween(1.0,
                        (double) REQUESTS);
                assertThat(during.value("vllm:kv_cache_usage_perc", "model_name", model)).isStrictlyBetween(0.0,
                        1.0);
                assertThat(during.value("afd_ffn_members")).isEqualTo(2);
                for (String url : ffn) {
                    PrometheusText node = PrometheusText.scrape(url);
                    assertThat(node.value("afd_ffn_node_streams")).isEqualTo(1);
                    assertThat(node.value("afd_ffn_node_frames_in_flight")).isBetween(0.0, 8.0);
                    assertThat(node.value("afd_ffn_node_frames_total")).isPositive();
                }
                traffic.forEach(CompletableFuture::join);
            }
            Cluster.awaitKvFree(cluster.attention);

            PrometheusText after = PrometheusText.scrape(attention);
            String[] m = {"model_name", model};
            assertThat(after.value("vllm:num_requests_running", m)).isZero();
            assertThat(after.value("vllm:num_requests_waiting", m)).isZero();
            assertThat(after.value("vllm:kv_cache_usage_perc", m)).isZero();
            assertThat(after.value("vllm:num_preemptions_total", m)).isZero();
            assertThat(after.value("vllm:prompt_tokens_total", m)).isEqualTo(REQUESTS * PROMPT);
            assertThat(after.value("vllm:generation_tokens_total", m)).isEqualTo(REQUESTS * TOKENS);
            assertThat(after.value("vllm:request_success_total", "model_name", model, "finished_reason", "length"))
                    .isEqualTo(REQUESTS);
            assertThat(after.value("vllm:request_success_total", "model_name", model, "finished_reason", "stop"))
                    .isZero();
            assertThat(after.value("vllm:prefix_cache_queries_total", m)).isPositive();
            assertThat(after.value("vllm:prefix_cache_hits_total", m)).isBetween(0.0,
                    after.value("vllm:prefix_cache_queries_total", m));
            for (String h : List.of("vllm:time_to_first_token_seconds", "vllm:e2e_request_latency_seconds",
                    "vllm:request_queue_time_seconds", "vllm:request_prefill_time_seconds",
                    "vllm:request_decode_time_seconds", "vllm:request_inference_time_seconds")) {
                assertHistogram(after, h, REQUESTS, m);
            }
            assertHistogram(after, "vllm:inter_token_latency_seconds", REQUESTS * (TOKENS - 1), m);
            assertThat(after.value("vllm:request_generation_tokens_sum", m)).isEqualTo(REQUESTS * TOKENS);
            assertThat(after.value("vllm:e2e_request_latency_seconds_sum", m))
                    .as("end-to-end covers prefill and decode")
                    .isGreaterThanOrEqualTo(after.value("vllm:request_inference_time_seconds_sum", m));

            double exchanges = after.value("afd_ffn_exchange_latency_seconds_count");
            assertThat(exchanges).isPositive();
            assertThat(after.value("afd_ffn_exchange_latency_seconds_bucket", "le", "+Inf")).isEqualTo(exchanges);
            assertThat(after.value("afd_ffn_exchange_latency_seconds_bucket", "le", "10.0")).isEqualTo(exchanges);
            assertThat(after.value("afd_ffn_exchange_latency_seconds_sum")).isPositive();
            assertThat(after.value("afd_ffn_timeouts_total")).isZero();
            assertThat(after.value("afd_ffn_wire_bytes_total", "direction", "to_ffn")).isPositive();
            assertThat(after.sum("afd_expert_routed_tokens_total")).isPositive();
            assertProcessMetrics(after);

            double computedRows = 0;
            for (String url : ffn) {
                PrometheusText node = PrometheusText.scrape(url);
                assertThat(node.value("afd_ffn_node_backend", "backend", "cpu")).isEqualTo(1);
                double frames = node.value("afd_ffn_node_frames_total");
                assertThat(frames).isPositive();
                assertHistogram(node, "afd_ffn_node_compute_seconds", frames);
                assertThat(node.value("afd_ffn_node_frames_in_flight")).isZero();
                assertThat(node.value("afd_ffn_node_expert_rows_total", "expert", "shared")).isPositive();
                assertThat(node.value("afd_ffn_node_expert_frames_total", "expert", "shared")).isBetween(1.0, frames);
                assertThat(node.sum("afd_ffn_node_expert_frames_total")).isGreaterThanOrEqualTo(frames);
                computedRows += node.sum("afd_ffn_node_expert_rows_total")
                        - node.value("afd_ffn_node_expert_rows_total", "expert", "shared");
                assertProcessMetrics(node);
            }
            assertThat(computedRows).as("routed rows the ffn-nodes computed, as the attention node counts them")
                    .isEqualTo(after.sum("afd_ffn_routed_units_total"));

            HttpResponse<Void> other = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(attention.replace("/metrics", "/other"))).build(), HttpResponse.BodyHandlers.discarding());
            assertThat(other.statusCode()).isEqualTo(404);
        }
    }

    /** A histogram with {@code count} observations: its +Inf bucket, its count, and buckets that never decrease. */
    private static void assertHistogram(PrometheusText t, String name, double count, String... labels) {
        assertThat(t.value(name + "_count", labels)).as(name + "_count").isEqualTo(count);
        List<PrometheusText.Sample> buckets = t.find(name + "_bucket", labels);
        assertThat(buckets).as(name + " buckets").hasSizeGreaterThan(5);
        assertThat(buckets.getLast().labels()).containsEntry("le", "+Inf");
        assertThat(buckets.getLast().value()).as(name + " +Inf bucket").isEqualTo(count);
        for (int i = 1; i < buckets.size(); i++) {
            assertThat(buckets.get(i).value()).as(name + " cumulative buckets")
                    .isGreaterThanOrEqualTo(buckets.get(i - 1).value());
        }
    }

    private static void assertProcessMetrics(PrometheusText t) {
        assertThat(t.sum("jvm_memory_used_bytes", "area", "heap")).isPositive();
        assertThat(t.sum("jvm_threads_live_threads")).isPositive();
        assertThat(t.find("jvm_gc_memory_allocated_bytes_total")).as("GC meters bound").isNotEmpty();
        assertThat(t.value("process_uptime_seconds")).isPositive();
        assertThat(t.value("process_cpu_usage")).isGreaterThanOrEqualTo(0);
    }

    private static void awaitRunning(AttentionNode node) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (node.engine().load().running() == 0 && System.nanoTime() < end) {
            Thread.sleep(2);
        }
        assertThat(node.engine().load().running()).as("requests running").isPositive();
    }
}
