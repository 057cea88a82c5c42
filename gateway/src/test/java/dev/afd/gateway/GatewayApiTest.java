package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.attention.client.AttentionClient;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.SamplingParams;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OpenAI routes end to end over real HTTP, against a real attention node on loopback. */
class GatewayApiTest {
    @TempDir
    static Path dir;

    static GatewayStack stack;
    static ModelTokenizer tokenizer;

    @BeforeAll
    static void start() throws Exception {
        stack = GatewayStack.start(dir, GatewayOptions.defaults());
        tokenizer = stack.tokenizer();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void aRepeatedPromptHitsTheNodesPrefixCacheAndTheNodesMetricsSaySo() throws Exception {
        String body = "{\"prompt\": \"" + "the garden is warm and the weather is good ".repeat(8)
                + "\", \"max_tokens\": 2, \"temperature\": 0}";
        stack.http.postOk("/v1/completions", body);
        stack.http.postOk("/v1/completions", body);
        Pattern hits = Pattern.compile("vllm:prefix_cache_hits_total\\{model_name=\"tiny\"} ([0-9.E]+)");
        String metrics = "";
        for (long end = System.nanoTime() + 5_000_000_000L; System.nanoTime() < end; Thread.sleep(100)) {
            metrics = stack.node.metrics().scrape();
            Matcher m = hits.matcher(metrics);
            if (m.find() && Double.parseDouble(m.group(1)) > 0) {
                break;
            }
        }
        Matcher m = hits.matcher(metrics);
        assertThat(m.find()).as("hits of the node in:%n%s", metrics).isTrue();
        assertThat(Double.parseDouble(m.group(1))).as("prompt tokens found cached").isPositive();
        assertThat(metrics).contains("vllm:prefix_cache_queries_total{", "afd_kv_cached_blocks{",
                "afd_kv_evictions_total{");
    }

    @Test
    void modelsVersionHealthAndMetrics() throws Exception {
        JsonNode models = Http.JSON.readTree(stack.http.get("/v1/models").body());
        assertThat(models.path("object").asText()).isEqualTo("list");
        assertThat(models.path("data").get(0).path("id").asText()).isEqualTo("tiny");
        assertThat(models.path("data").get(0).path("max_model_len").asInt()).isEqualTo(4096);
        assertThat(stack.http.get("/version").body()).contains("\"version\"");
        assertThat(stack.http.get("/health").statusCode()).isEqualTo(200);
        stack.http.postOk("/v1/completions", "{\"prompt\": \"Hello\", \"max_tokens\": 3, \"temperature\": 0}");
        HttpResponse<String> metrics = stack.http.get("/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("afd_gateway_time_to_first_token_seconds_bucket{",
                "afd_gateway_e2e_request_latency_seconds_count{", "afd_gateway_prompt_tokens_total{",
                "afd_gateway_generation_tokens_total{", "afd_gateway_request_success_total{finished_reason=\"length\"",
                "afd_gateway_attention_nodes_ready 1.0", "jvm_memory_used_bytes{", "process_uptime_seconds ")
                // The engine's metrics are the attention nodes' own: repeated here, a sum() over pods would count
                // them twice.
                .doesNotContain("vllm:", "afd_ffn_");
    }

    @Test
    void completionEqualsTheAttentionNodeCalledDirectly() throws Exception {
        int[] prompt = {3, 1, 4, 1, 5, 9, 2, 6};
        GenerationResult direct;
        try (AttentionClient client = new AttentionClient("127.0.0.1:" + stack.node.server().port())) {
            direct = client.generate("direct-logprobs", new GenerationRequest(prompt, 12,
                    SamplingParams.greedy().withTopLogprobs(2), true));
        }
        JsonNode r = stack.http.postOk("/v1/completions", """
                {"model": "tiny", "prompt": [3, 1, 4, 1, 5, 9, 2, 6], "max_tokens": 12, "temperature": 0,
                 "ignore_eos": true, "logprobs": 2}""");
        assertThat(r.path("id").asText()).startsWith("cmpl-");
        assertThat(r.path("object").asText()).isEqualTo("text_completion");
        assertThat(r.path("model").asText()).isEqualTo("tiny");
        assertThat(r.path("created").asLong()).isPositive();
        JsonNode choice = r.path("choices").get(0);
        assertThat(choice.path("text").asText()).isEqualTo(tokenizer.decode(direct.tokenIds(), true));
        assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
        JsonNode lp = choice.path("logprobs");
        assertThat(lp.path("tokens")).hasSize(12);
        for (int i = 0; i < 12; i++) {
            assertThat(lp.path("tokens").get(i).asText()).isEqualTo(tokenizer.tokenText(direct.tokenIds()[i]));
            assertThat((float) lp.path("token_logprobs").get(i).asDouble()).isEqualTo(direct.logprobs()[i]);
            assertThat(lp.path("top_logprobs").get(i).size()).isBetween(1, 2);
        }
        assertThat(r.path("usage").path("prompt_tokens").asInt()).isEqualTo(8);
        assertThat(r.path("usage").path("completion_tokens").asInt()).isEqualTo(12);
        assertThat(r.path("usage").path("total_tokens").asInt()).isEqualTo(20);
    }

    @Test
    void everyPromptShapeGivesOneChoiceEachInOrder() throws Exception {
        int[] ids = tokenizer.encode("The garden is warm", true);
        String idList = java.util.Arrays.toString(ids);
        String common = ", \"max_tokens\": 6, \"temperature\": 0, \"ignore_eos\": true}";
        String fromText = text(stack.http.postOk("/v1/completions", "{\"prompt\": \"The garden is warm\"" + common), 0);
        String fromIds = text(stack.http.postOk("/v1/completions", "{\"prompt\": " + idList + common), 0);
        assertThat(fromIds).isEqualTo(fromText);
        JsonNode two = stack.http.postOk("/v1/completions", "{\"prompt\": [\"Hello\", \"The garden is warm\"]" + common);
        assertThat(two.path("choices")).hasSize(2);
        assertThat(two.path("choices").get(1).path("index").asInt()).isEqualTo(1);
        assertThat(text(two, 1)).isEqualTo(fromText);
        JsonNode lists = stack.http.postOk("/v1/completions", "{\"prompt\": [[1, 2, 3], " + idList + "]" + common);
        assertThat(lists.path("choices")).hasSize(2);
        assertThat(text(lists, 1)).isEqualTo(fromText);
        assertThat(lists.path("usage").path("prompt_tokens").asInt()).isEqualTo(3 + ids.length);
    }

    @Test
    void chatStreamsTheSameTextAsTheWholeAnswer() throws Exception {
        String request = """
                {"model": "tiny", "messages": [{"role": "system", "content": "Be brief."},
                 {"role": "user", "content": [{"type": "text", "text": "Grüße aus Köln 🙂"}]}],
                 "max_completion_tokens": 20, "temperature": 0, "ignore_eos": true%s}""";
        JsonNode whole = stack.http.postOk("/v1/chat/completions", request.formatted(""));
        assertThat(whole.path("object").asText()).isEqualTo("chat.completion");
        JsonNode message = whole.path("choices").get(0).path("message");
        assertThat(message.path("role").asText()).isEqualTo("assistant");
        List<JsonNode> events = stack.http.stream("/v1/chat/completions", request.formatted(
                ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        JsonNode first = events.getFirst();
        assertThat(first.path("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(first.path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
        StringBuilder streamed = new StringBuilder();
        String finish = null;
        for (JsonNode e : events.subList(0, events.size() - 1)) {
            assertThat(e.path("id").asText()).isEqualTo(first.path("id").asText());
            JsonNode c = e.path("choices").get(0);
            streamed.append(c.path("delta").path("content").asText(""));
            if (!c.path("finish_reason").isNull()) {
                finish = c.path("finish_reason").asText();
            }
        }
        assertThat(streamed.toString()).isEqualTo(message.path("content").asText());
        assertThat(finish).isEqualTo("length");
        JsonNode usage = events.getLast();
        assertThat(usage.path("choices")).isEmpty();
        assertThat(usage.path("usage")).isEqualTo(whole.path("usage"));
        assertThat(usage.path("usage").path("completion_tokens").asInt()).isEqualTo(20);
        // The prompt is the chat template's rendering of the conversation.
        String rendered = tokenizer.chatTemplate().render(List.of(
                java.util.Map.of("role", "system", "content", "Be brief."),
                java.util.Map.of("role", "user", "content", "Grüße aus Köln 🙂")), true, java.util.Map.of());
        assertThat(usage.path("usage").path("prompt_tokens").asInt())
                .isEqualTo(tokenizer.encode(rendered, false).length);
    }

    @Test
    void stopStringsEndTheChoiceAndAreNeverSent() throws Exception {
        String request = "{\"prompt\": \"Hello, world\", \"max_tokens\": 40, \"temperature\": 0, \"ignore_eos\": true%s}";
        String full = text(stack.http.postOk("/v1/completions", request.formatted("")), 0);
        String stop = stopStringIn(full);
        String expected = full.substring(0, full.indexOf(stop));
        JsonNode r = stack.http.postOk("/v1/completions", request.formatted(", \"stop\": [\"\\u0000never\", "
                + Http.JSON.writeValueAsString(stop) + "]"));
        JsonNode choice = r.path("choices").get(0);
        assertThat(choice.path("text").asText()).isEqualTo(expected);
        assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
        assertThat(choice.path("stop_reason").asText()).isEqualTo(stop);
        List<JsonNode> events = stack.http.stream("/v1/completions", request.formatted(", \"stream\": true, \"stop\": "
                + Http.JSON.writeValueAsString(stop)));
        StringBuilder streamed = new StringBuilder();
        for (JsonNode e : events) {
            String piece = e.path("choices").get(0).path("text").asText();
            assertThat(piece).doesNotContain(stop);
            streamed.append(piece);
        }
        assertThat(streamed.toString()).isEqualTo(expected);
        assertThat(events.getLast().path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void stopTokenIdsEndTheChoiceWithoutTheirText() throws Exception {
        int[] out = direct(new int[] {7, 8, 9}, 10);
        int stopId = out[3];
        int at = java.util.stream.IntStream.range(0, out.length).filter(i -> out[i] == stopId).findFirst()
                .orElseThrow();
        JsonNode r = stack.http.postOk("/v1/completions", "{\"prompt\": [7, 8, 9], \"max_tokens\": 10, \"temperature\": 0,"
                + " \"ignore_eos\": true, \"stop_token_ids\": [" + stopId + "]}");
        JsonNode choice = r.path("choices").get(0);
        assertThat(choice.path("text").asText()).isEqualTo(tokenizer.decode(java.util.Arrays.copyOf(out, at), true));
        assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
        assertThat(choice.path("stop_reason").asInt()).isEqualTo(stopId);
        assertThat(r.path("usage").path("completion_tokens").asInt()).isEqualTo(at + 1);
    }

    @Test
    void includeStopStrInOutputKeepsTheStopStringOrTheStopTokensText() throws Exception {
        String request = "{\"prompt\": \"Hello, world\", \"max_tokens\": 40, \"temperature\": 0, \"ignore_eos\": true,"
                + " \"include_stop_str_in_output\": true%s}";
        String full = text(stack.http.postOk("/v1/completions", request.formatted("")), 0);
        String stop = stopStringIn(full);
        String expected = full.substring(0, full.indexOf(stop) + stop.length());
        String withStop = request.formatted(", \"stop\": " + Http.JSON.writeValueAsString(stop));
        JsonNode choice = stack.http.postOk("/v1/completions", withStop).path("choices").get(0);
        assertThat(choice.path("text").asText()).isEqualTo(expected);
        assertThat(choice.path("stop_reason").asText()).isEqualTo(stop);
        StringBuilder streamed = new StringBuilder();
        for (JsonNode e : stack.http.stream("/v1/completions", request.formatted(", \"stream\": true, \"stop\": "
                + Http.JSON.writeValueAsString(stop)))) {
            streamed.append(e.path("choices").get(0).path("text").asText());
        }
        assertThat(streamed.toString()).isEqualTo(expected);

        int[] out = direct(new int[] {7, 8, 9}, 10);
        int stopId = out[3];
        int at = java.util.stream.IntStream.range(0, out.length).filter(i -> out[i] == stopId).findFirst()
                .orElseThrow();
        JsonNode byToken = stack.http.postOk("/v1/completions", "{\"prompt\": [7, 8, 9], \"max_tokens\": 10,"
                + " \"temperature\": 0, \"ignore_eos\": true, \"include_stop_str_in_output\": true,"
                + " \"stop_token_ids\": [" + stopId + "]}").path("choices").get(0);
        assertThat(byToken.path("text").asText())
                .isEqualTo(tokenizer.decode(java.util.Arrays.copyOf(out, at + 1), true));
        assertThat(byToken.path("stop_reason").asInt()).isEqualTo(stopId);
    }

    @Test
    void nChoicesSampleWithSeedPlusTheirIndex() throws Exception {
        String request = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 8, \"temperature\": 1.0, \"ignore_eos\":"
                + " true, \"n\": %d, \"seed\": %d}";
        JsonNode three = stack.http.postOk("/v1/completions", request.formatted(3, 7));
        assertThat(three.path("choices")).hasSize(3);
        assertThat(three.path("usage").path("completion_tokens").asInt()).isEqualTo(24);
        for (int j = 0; j < 3; j++) {
            JsonNode single = stack.http.postOk("/v1/completions", request.formatted(1, 7 + j));
            assertThat(text(three, j)).as("choice " + j).isEqualTo(text(single, 0));
        }
        assertThat(List.of(text(three, 0), text(three, 1), text(three, 2))).doesNotHaveDuplicates();
    }

    @Test
    void echoPutsThePromptFirst() throws Exception {
        JsonNode r = stack.http.postOk("/v1/completions",
                "{\"prompt\": \"Hello\", \"max_tokens\": 4, \"temperature\": 0, \"ignore_eos\": true, \"echo\": true}");
        JsonNode plain = stack.http.postOk("/v1/completions",
                "{\"prompt\": \"Hello\", \"max_tokens\": 4, \"temperature\": 0, \"ignore_eos\": true}");
        assertThat(text(r, 0)).isEqualTo("Hello" + text(plain, 0));
    }

    @Test
    void chatLogprobsNameEachToken() throws Exception {
        JsonNode r = stack.http.postOk("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5, "temperature": 0,
                 "ignore_eos": true, "logprobs": true, "top_logprobs": 3}""");
        JsonNode content = r.path("choices").get(0).path("logprobs").path("content");
        assertThat(content).hasSize(5);
        for (JsonNode t : content) {
            assertThat(t.path("token").isTextual()).isTrue();
            assertThat(t.path("logprob").asDouble()).isLessThanOrEqualTo(0);
            assertThat(t.path("top_logprobs")).hasSize(3);
            assertThat(t.path("bytes").isArray()).isTrue();
        }
    }

    @Test
    void sixtyFourParallelStreamsEqualTheSameRequestsOneAtATime() throws Exception {
        int requests = 64;
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            bodies.add("{\"prompt\": \"Request number " + i + " says\", \"max_tokens\": " + (4 + i % 9)
                    + ", \"temperature\": 0, \"ignore_eos\": true, \"stream\": true}");
        }
        List<String> sequential = new ArrayList<>();
        for (String b : bodies) {
            sequential.add(streamedText(stack.http.stream("/v1/completions", b)));
        }
        List<CompletableFuture<String>> parallel = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String b : bodies) {
                parallel.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return streamedText(stack.http.stream("/v1/completions", b));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, pool));
            }
            for (int i = 0; i < requests; i++) {
                assertThat(parallel.get(i).get()).as("request " + i).isEqualTo(sequential.get(i));
            }
        }
    }

    /** Greedy tokens straight from the attention node, eos ignored. */
    private static int[] direct(int[] prompt, int maxTokens) {
        try (AttentionClient client = new AttentionClient("127.0.0.1:" + stack.node.server().port())) {
            return client.generate("direct", new GenerationRequest(prompt, maxTokens, SamplingParams.greedy(), true))
                    .tokenIds();
        }
    }

    private static String streamedText(List<JsonNode> events) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode e : events) {
            sb.append(e.path("choices").get(0).path("text").asText());
        }
        assertThat(events.getLast().path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
        return sb.toString();
    }

    private static String text(JsonNode response, int choice) {
        return response.path("choices").get(choice).path("text").asText();
    }

    /** Two or three characters from the middle of {@code text} with no replacement character in them. */
    private static String stopStringIn(String text) {
        for (int start = text.length() / 2; start < text.length() - 2; start++) {
            String s = text.substring(start, start + 2);
            if (s.indexOf('\uFFFD') < 0 && !Character.isSurrogate(s.charAt(0))
                    && !Character.isSurrogate(s.charAt(1))) {
                return s;
            }
        }
        throw new IllegalStateException("no usable stop string in " + text);
    }
}
