package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IntSummaryStatistics;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The datasets' requests as they would be sent: lengths, shared prefixes, ShareGPT sampling. */
class ServeDatasetsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** One token per word: a tokenizer whose counts the fixtures show. */
    private static final Dataset.TokenCounter WORDS = text -> text.isBlank() ? 0 : text.strip().split("\\s+").length;

    @TempDir
    Path dir;

    private static JsonNode body(PreparedRequest r) throws IOException {
        return JSON.readTree(r.body());
    }

    private static int[] promptIds(PreparedRequest r) throws IOException {
        JsonNode prompt = body(r).get("prompt");
        return IntStream.range(0, prompt.size()).map(i -> prompt.get(i).asInt()).toArray();
    }

    @Test
    void randomLengthsFillTheRangeRatiosInterval() throws IOException {
        List<PreparedRequest> requests = new RandomDataset(new Lengths(100, 20, 0.5), 256).requests("m", 2000, 7);
        IntSummaryStatistics inputs = new IntSummaryStatistics();
        IntSummaryStatistics outputs = new IntSummaryStatistics();
        for (PreparedRequest r : requests) {
            int[] ids = promptIds(r);
            inputs.accept(ids.length);
            outputs.accept(body(r).get("max_tokens").asInt());
            assertThat(r.inputTokens()).isEqualTo(ids.length);
            assertThat(Arrays.stream(ids).allMatch(id -> id >= 0 && id < 256)).isTrue();
        }
        // vLLM's bounds, both included: [floor(100 * 0.5), ceil(100 * 1.5)] and [10, 30].
        assertThat(inputs.getMin()).isEqualTo(50);
        assertThat(inputs.getMax()).isEqualTo(150);
        assertThat(outputs.getMin()).isEqualTo(10);
        assertThat(outputs.getMax()).isEqualTo(30);
        assertThat(inputs.getAverage()).isBetween(95.0, 105.0);

        List<PreparedRequest> exact = new RandomDataset(Lengths.fixed(33, 5), 256).requests("m", 50, 7);
        for (PreparedRequest r : exact) {
            assertThat(promptIds(r)).hasSize(33);
            assertThat(body(r).get("max_tokens").asInt()).isEqualTo(5);
            assertThat(body(r).get("ignore_eos").asBoolean()).isTrue();
        }
        assertThat(new Lengths(1, 1, 0.9).minInput()).isEqualTo(1); // never an empty prompt
        assertThatThrownBy(() -> new Lengths(10, 10, 1)).hasMessageContaining("--random-range-ratio");
    }

    @Test
    void prefixRequestsShareExactlyTheirPrefixesTokens() throws Exception {
        int prefixLen = 40;
        int numPrefixes = 3;
        Dataset dataset = new PrefixDataset(prefixLen, numPrefixes, Lengths.fixed(10, 5), 256);
        List<PreparedRequest> requests = dataset.requests(new Dataset.Context(Endpoint.COMPLETIONS, "m", null), 30, 5);
        List<int[]> prompts = new ArrayList<>();
        for (PreparedRequest r : requests) {
            prompts.add(promptIds(r));
            assertThat(r.inputTokens()).isEqualTo(prefixLen + 10);
        }
        for (int i = 0; i < prompts.size(); i++) {
            for (int j = i + 1; j < prompts.size(); j++) {
                int common = commonPrefix(prompts.get(i), prompts.get(j));
                if (i % numPrefixes == j % numPrefixes) {
                    // The same prefix (taken in turn), then each request's own suffix: random ids that may agree
                    // by chance on a leading token or two, never on the whole suffix.
                    assertThat(common).as("requests %d and %d", i, j).isBetween(prefixLen, prefixLen + 2);
                } else {
                    assertThat(common).as("requests %d and %d", i, j).isLessThan(prefixLen);
                }
            }
        }
        assertThat(dataset.requests(new Dataset.Context(Endpoint.COMPLETIONS, "m", null), 30, 5))
                .extracting(PreparedRequest::body).zipSatisfy(requests.stream().map(PreparedRequest::body).toList(),
                        (a, b) -> assertThat(a).isEqualTo(b)); // the same seed, the same workload
        assertThatThrownBy(() -> new PrefixDataset(1, 300, Lengths.fixed(1, 1), 256))
                .hasMessageContaining("not 300 distinct prefixes");
    }

    private static int commonPrefix(int[] a, int[] b) {
        int mismatch = Arrays.mismatch(a, b);
        return mismatch < 0 ? Math.min(a.length, b.length) : mismatch;
    }

    @Test
    void shareGptTakesTheFirstHumanTurnAndTheGptAnswersLengthWithVllmsFilters() throws Exception {
        Path file = dir.resolve("sharegpt.json");
        String longPrompt = "w ".repeat(ShareGptDataset.MAX_PROMPT_LEN + 1);
        Files.writeString(file, """
                [
                  {"id": "a", "conversations": [
                    {"from": "human", "value": "one two three four five"},
                    {"from": "gpt", "value": "a b c d e f"},
                    {"from": "human", "value": "a later turn that is never the prompt"}]},
                  {"id": "b", "conversations": [
                    {"from": "system", "value": "you are terse"},
                    {"from": "human", "value": "six seven eight nine"},
                    {"from": "gpt", "value": "g h i j k l m n"}]},
                  {"id": "short prompt", "conversations": [
                    {"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello there how are you"}]},
                  {"id": "short answer", "conversations": [
                    {"from": "human", "value": "tell me one more thing"}, {"from": "gpt", "value": "no"}]},
                  {"id": "unanswered", "conversations": [{"from": "human", "value": "is anyone there at all"}]},
                  {"id": "too long", "conversations": [
                    {"from": "human", "value": "%s"}, {"from": "gpt", "value": "p q r s"}]}
                ]
                """.formatted(longPrompt));
        Dataset.Context chat = new Dataset.Context(Endpoint.CHAT, "m", WORDS);

        List<PreparedRequest> requests = new ShareGptDataset(file, OptionalInt.empty()).requests(chat, 6, 1);
        assertThat(requests).hasSize(6); // two conversations pass; drawn again to fill the run
        List<String> prompts = new ArrayList<>();
        for (PreparedRequest r : requests) {
            JsonNode body = body(r);
            String prompt = body.get("messages").get(0).get("content").asText();
            prompts.add(prompt);
            assertThat(body.get("messages").get(0).get("role").asText()).isEqualTo("user");
            // The gpt turn's length in the (word) tokenizer's tokens is the output length.
            assertThat(body.get("max_tokens").asInt()).isEqualTo(prompt.startsWith("one") ? 6 : 8);
        }
        assertThat(prompts).containsOnly("one two three four five", "six seven eight nine")
                .contains("one two three four five", "six seven eight nine");

        // A fixed output length lifts the short-output filter only.
        List<PreparedRequest> fixed = new ShareGptDataset(file, OptionalInt.of(3)).requests(
                new Dataset.Context(Endpoint.COMPLETIONS, "m", WORDS), 3, 1);
        List<String> fixedPrompts = new ArrayList<>();
        for (PreparedRequest r : fixed) {
            fixedPrompts.add(body(r).get("prompt").asText());
            assertThat(body(r).get("max_tokens").asInt()).isEqualTo(3);
        }
        assertThat(fixedPrompts).containsExactlyInAnyOrder("one two three four five", "six seven eight nine",
                "tell me one more thing");

        Path notShareGpt = dir.resolve("other.json");
        Files.writeString(notShareGpt, "{\"prompt\": \"x\"}");
        assertThatThrownBy(() -> new ShareGptDataset(notShareGpt, OptionalInt.empty()).requests(chat, 1, 1))
                .hasMessageContaining("is not a ShareGPT file");
    }
}
