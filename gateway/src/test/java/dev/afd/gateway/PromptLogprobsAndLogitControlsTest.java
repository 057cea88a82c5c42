package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Prompt log-probabilities (completions {@code echo} with {@code logprobs}, vLLM's {@code prompt_logprobs}) in vLLM's
 * shapes, and the fields that steer sampling ({@code logit_bias}, {@code allowed_token_ids},
 * {@code truncate_prompt_tokens}) honoured or refused with a 400 naming them, and fields this server does not
 * implement refused rather than ignored, over real HTTP against a real node.
 */
class PromptLogprobsAndLogitControlsTest {
    private static final int[] PROMPT = {3, 1, 4, 1, 5, 9, 2, 6};

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
    void echoWithLogprobsScoresThePromptTokensFirst() throws Exception {
        JsonNode plain = stack.http.postOk("/v1/completions", """
                {"prompt": %s, "max_tokens": 5, "temperature": 0, "ignore_eos": true, "logprobs": 2}"""
                .formatted(Arrays.toString(PROMPT)));
        JsonNode echoed = stack.http.postOk("/v1/completions", """
                {"prompt": %s, "max_tokens": 5, "temperature": 0, "ignore_eos": true, "logprobs": 2, "echo": true}"""
                .formatted(Arrays.toString(PROMPT)));
        JsonNode choice = echoed.path("choices").get(0);
        JsonNode lp = choice.path("logprobs");
        int n = PROMPT.length + 5;
        assertThat(lp.path("tokens")).hasSize(n);
        assertThat(lp.path("token_logprobs")).hasSize(n);
        assertThat(lp.path("top_logprobs")).hasSize(n);
        assertThat(lp.path("text_offset")).hasSize(n);
        // As in vLLM: nothing predicts the first prompt token.
        assertThat(lp.path("token_logprobs").get(0).isNull()).isTrue();
        assertThat(lp.path("top_logprobs").get(0).isNull()).isTrue();
        for (int i = 0; i < PROMPT.length; i++) {
            assertThat(lp.path("tokens").get(i).asText()).isEqualTo(tokenizer.tokenText(PROMPT[i]));
        }
        for (int i = 1; i < n; i++) {
            assertThat(lp.path("token_logprobs").get(i).asDouble()).isLessThanOrEqualTo(0);
            assertThat(lp.path("top_logprobs").get(i).size()).isBetween(1, 2);
        }
        JsonNode generated = plain.path("choices").get(0).path("logprobs");
        for (int g = 0; g < 5; g++) {
            assertThat(lp.path("token_logprobs").get(PROMPT.length + g).asDouble())
                    .isEqualTo(generated.path("token_logprobs").get(g).asDouble());
        }
        assertThat(choice.path("text").asText()).isEqualTo(tokenizer.decode(PROMPT, false)
                + plain.path("choices").get(0).path("text").asText());
        assertThat(choice.path("prompt_logprobs")).as("echo asks for the prompt's logprobs").hasSize(PROMPT.length);
    }

    @Test
    void promptLogprobsHaveVllmsShapeOnCompletionsAndChat() throws Exception {
        JsonNode r = stack.http.postOk("/v1/completions", """
                {"prompt": %s, "max_tokens": 2, "temperature": 0, "prompt_logprobs": 2}"""
                .formatted(Arrays.toString(PROMPT)));
        JsonNode prompt = r.path("choices").get(0).path("prompt_logprobs");
        assertThat(prompt).hasSize(PROMPT.length);
        assertThat(prompt.get(0).isNull()).isTrue();
        for (int i = 1; i < PROMPT.length; i++) {
            JsonNode entry = prompt.get(i);
            JsonNode own = entry.path(Integer.toString(PROMPT[i]));
            assertThat(own.path("logprob").asDouble()).isLessThanOrEqualTo(0);
            assertThat(own.path("rank").asInt()).isPositive();
            assertThat(own.path("decoded_token").asText()).isEqualTo(tokenizer.tokenText(PROMPT[i]));
            // The token itself and the 2 most likely ones (fewer when it is one of them).
            assertThat(entry.size()).isBetween(2, 3);
            Set<Integer> ranks = new HashSet<>();
            entry.forEach(e -> ranks.add(e.path("rank").asInt()));
            assertThat(ranks).contains(1, 2);
        }
        JsonNode chat = stack.http.postOk("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "prompt_logprobs": 0}""");
        JsonNode chatPrompt = chat.path("prompt_logprobs");
        assertThat(chatPrompt.size()).isEqualTo(chat.path("usage").path("prompt_tokens").asInt());
        assertThat(chatPrompt.get(0).isNull()).isTrue();
        assertThat(chatPrompt.get(1).size()).isEqualTo(1);

        var streamed = stack.http.post("/v1/completions", """
                {"prompt": "Hi", "max_tokens": 2, "prompt_logprobs": 1, "stream": true}""");
        assertThat(Http.error(streamed, 400).path("param").asText()).isEqualTo("prompt_logprobs");
    }

    @Test
    void aStreamedEchoCarriesThePromptsLogprobsInItsFirstChunk() throws Exception {
        List<JsonNode> events = stack.http.stream("/v1/completions", """
                {"prompt": %s, "max_tokens": 3, "temperature": 0, "ignore_eos": true, "logprobs": 1, "echo": true,
                 "stream": true}""".formatted(Arrays.toString(PROMPT)));
        JsonNode first = events.getFirst().path("choices").get(0);
        assertThat(first.path("text").asText()).isEqualTo(tokenizer.decode(PROMPT, false));
        assertThat(first.path("logprobs").path("tokens")).hasSize(PROMPT.length);
        assertThat(first.path("logprobs").path("token_logprobs").get(0).isNull()).isTrue();
        int scored = 0;
        for (JsonNode e : events) {
            scored += e.path("choices").get(0).path("logprobs").path("tokens").size();
        }
        assertThat(scored).isEqualTo(PROMPT.length + 3);
    }

    @Test
    void logitBiasAndAllowedTokenIdsSteerTheTokens() throws Exception {
        JsonNode forced = stack.http.postOk("/v1/completions", """
                {"prompt": %s, "max_tokens": 6, "temperature": 0, "ignore_eos": true, "logit_bias": {"77": 100},
                 "logprobs": 0}""".formatted(Arrays.toString(PROMPT)));
        JsonNode forcedTokens = forced.path("choices").get(0).path("logprobs").path("tokens");
        assertThat(forcedTokens).hasSize(6);
        forcedTokens.forEach(t -> assertThat(t.asText()).isEqualTo(tokenizer.tokenText(77)));
        JsonNode allowed = stack.http.postOk("/v1/completions", """
                {"prompt": %s, "max_tokens": 24, "temperature": 1.5, "seed": 3, "ignore_eos": true,
                 "allowed_token_ids": [70, 71, 72], "logprobs": 0}""".formatted(Arrays.toString(PROMPT)));
        JsonNode tokens = allowed.path("choices").get(0).path("logprobs").path("tokens");
        assertThat(tokens).hasSize(24);
        Set<String> texts = Set.of(tokenizer.tokenText(70), tokenizer.tokenText(71), tokenizer.tokenText(72));
        tokens.forEach(t -> assertThat(texts).contains(t.asText()));

        assertThat(Http.error(stack.http.post("/v1/completions", """
                {"prompt": "Hi", "logit_bias": {"x": 1}}"""), 400).path("param").asText()).isEqualTo("logit_bias");
        assertThat(Http.error(stack.http.post("/v1/completions", """
                {"prompt": "Hi", "logit_bias": {"5": 101}}"""), 400).path("message").asText()).contains("101");
        assertThat(Http.error(stack.http.post("/v1/completions", """
                {"prompt": "Hi", "logit_bias": {"99999": 1}}"""), 400).path("message").asText())
                .contains("99999");
        assertThat(Http.error(stack.http.post("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "Hi"}], "allowed_token_ids": [99999]}"""), 400)
                .path("param").asText()).isEqualTo("allowed_token_ids");
    }

    @Test
    void truncatePromptTokensKeepsThePromptsEnd() throws Exception {
        JsonNode truncated = stack.http.postOk("/v1/completions", """
                {"prompt": %s, "max_tokens": 5, "temperature": 0, "ignore_eos": true, "truncate_prompt_tokens": 3}"""
                .formatted(Arrays.toString(PROMPT)));
        JsonNode direct = stack.http.postOk("/v1/completions", """
                {"prompt": [9, 2, 6], "max_tokens": 5, "temperature": 0, "ignore_eos": true}""");
        assertThat(truncated.path("usage").path("prompt_tokens").asInt()).isEqualTo(3);
        assertThat(truncated.path("choices").get(0).path("text").asText())
                .isEqualTo(direct.path("choices").get(0).path("text").asText());
        assertThat(Http.error(stack.http.post("/v1/completions", """
                {"prompt": "Hi", "truncate_prompt_tokens": 0}"""), 400).path("param").asText())
                .isEqualTo("truncate_prompt_tokens");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "use_beam_search | true | /v1/completions",
        "length_penalty | 0.5 | /v1/completions",
        "bad_words | [\"x\"] | /v1/chat/completions",
        "logits_processors | [\"my.Processor\"] | /v1/completions",
        "return_tokens_as_token_ids | true | /v1/chat/completions",
        "spaces_between_special_tokens | false | /v1/completions",
        "best_of | 3 | /v1/completions",
        "echo | true | /v1/chat/completions",
        "continue_final_message | true | /v1/chat/completions",
        "chat_template | \"{{ messages }}\" | /v1/chat/completions",
        "functions | [{\"name\": \"f\"}] | /v1/chat/completions",
        "modalities | [\"text\", \"audio\"] | /v1/chat/completions"})
    void fieldsThatWouldChangeTheAnswerAreRefusedNotIgnored(String field, String value, String route)
            throws Exception {
        String prompt = route.contains("chat") ? "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]"
                : "\"prompt\": \"Hi\"";
        JsonNode error = Http.error(stack.http.post(route, "{" + prompt + ", \"max_tokens\": 1, \"" + field + "\": "
                + value + "}"), 400);
        assertThat(error.path("param").asText()).isEqualTo(field);
        assertThat(error.path("message").asText()).contains("not supported");
    }

    @Test
    void theirNoOpValuesAreAccepted() throws Exception {
        stack.http.postOk("/v1/completions", """
                {"prompt": "Hi", "max_tokens": 1, "use_beam_search": false, "length_penalty": 1.0, "bad_words": [],
                 "best_of": 2, "n": 2, "spaces_between_special_tokens": true, "return_tokens_as_token_ids": null}""");
        stack.http.postOk("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "echo": false,
                 "modalities": ["text"], "continue_final_message": false}""");
    }
}
