package dev.afd.bench.serve;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * {@code --dataset sharegpt --dataset-path FILE}: a ShareGPT-format JSON file (an array of {@code {"conversations":
 * [{"from": "human", "value": "..."}, {"from": "gpt", "value": "..."}, ...]}}), sampled with vLLM's conventions:
 * the conversations are shuffled (seeded), each gives its first human turn as the prompt and the gpt turn that answers
 * it as the reference completion, whose length in the served model's tokens is the request's output length unless
 * {@code outputLen} fixes it. As in vLLM, a pair is skipped when its prompt is under 4 tokens or over 1,024, its
 * (measured) output under 4, or the two together over 2,048; when fewer pairs pass than the run needs, passing
 * pairs are drawn again at random. Lengths come from the server's {@code /tokenize}, so they are the served model's.
 *
 * <p>The file is read as a stream, keeping only each conversation's first exchange, so the full ShareGPT file
 * (hundreds of megabytes) needs no more memory than those texts.
 *
 * @param outputLen fixed output tokens per request; empty for the gpt turn's length
 */
public record ShareGptDataset(Path file, OptionalInt outputLen) implements Dataset {
    static final int MIN_LEN = 4;
    static final int MAX_PROMPT_LEN = 1024;
    static final int MAX_TOTAL_LEN = 2048;

    public ShareGptDataset {
        if (outputLen.isPresent() && outputLen.getAsInt() < 1) {
            throw new IllegalArgumentException("--sharegpt-output-len must be >= 1, got " + outputLen.getAsInt());
        }
    }

    /** A conversation's first exchange. */
    record Pair(String prompt, String completion) {}

    @Override
    public List<PreparedRequest> requests(Context context, int count, long seed)
            throws IOException, InterruptedException {
        List<Pair> pairs = pairs();
        Collections.shuffle(pairs, new Random(seed));
        List<PreparedRequest> requests = new ArrayList<>(count);
        for (Pair pair : pairs) {
            if (requests.size() == count) {
                break;
            }
            int promptLen = context.tokens().count(pair.prompt());
            int output = outputLen.isPresent() ? outputLen.getAsInt() : context.tokens().count(pair.completion());
            if (valid(promptLen, output)) {
                requests.add(Prompts.text(context.endpoint(), context.model(), pair.prompt(), output));
            }
        }
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("no conversation of " + file + " has a first human turn of "
                    + MIN_LEN + "-" + MAX_PROMPT_LEN + " tokens answered by a gpt turn within " + MAX_TOTAL_LEN
                    + " tokens in all");
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int passed = requests.size(); requests.size() < count; ) {
            requests.add(requests.get(random.nextInt(passed)));
        }
        return requests;
    }

    private boolean valid(int promptLen, int output) {
        boolean shortOutput = outputLen.isEmpty() && output < MIN_LEN;
        return promptLen >= MIN_LEN && !shortOutput && promptLen <= MAX_PROMPT_LEN
                && promptLen + output <= MAX_TOTAL_LEN;
    }

    /** Every conversation's first human turn and the gpt turn right after it, in file order. */
    List<Pair> pairs() throws IOException {
        List<Pair> pairs = new ArrayList<>();
        try (JsonParser parser = Prompts.JSON.createParser(file.toFile())) {
            if (parser.nextToken() != JsonToken.START_ARRAY) {
                throw new IllegalArgumentException("dataset " + file + " is not a ShareGPT file: it must be a JSON"
                        + " array of {\"conversations\": [{\"from\": \"human\", \"value\": ...}, ...]}");
            }
            while (parser.nextToken() == JsonToken.START_OBJECT) {
                Pair pair = firstExchange(parser.readValueAsTree());
                if (pair != null) {
                    pairs.add(pair);
                }
            }
        }
        return pairs;
    }

    private static Pair firstExchange(JsonNode entry) {
        JsonNode turns = entry.path("conversations");
        for (int i = 0; i + 1 < turns.size(); i++) {
            if (turns.get(i).path("from").asText().equals("human")) {
                JsonNode answer = turns.get(i + 1);
                return answer.path("from").asText().equals("gpt")
                        ? new Pair(turns.get(i).path("value").asText(), answer.path("value").asText()) : null;
            }
        }
        return null;
    }

    @Override
    public boolean tokenIdPrompts() {
        return false;
    }

    @Override
    public String describe() {
        return "sharegpt " + file + ", first human turn as prompt, "
                + (outputLen.isPresent() ? outputLen.getAsInt() + " output tokens" : "the gpt turn's length as output")
                + " (ignore_eos)";
    }
}
