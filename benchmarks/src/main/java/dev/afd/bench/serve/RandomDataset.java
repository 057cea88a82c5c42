package dev.afd.bench.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code --dataset random}, as vLLM's: prompts of token ids drawn uniformly from {@code [0, tokenRange)}, so each
 * input length is exact whatever the server's tokenizer, with input and output lengths drawn per request (see
 * {@link Lengths}). Completions endpoint only.
 *
 * @param tokenRange 256 fits any vocabulary
 */
public record RandomDataset(Lengths lengths, int tokenRange) implements Dataset {
    public RandomDataset {
        if (tokenRange < 1) {
            throw new IllegalArgumentException("--prompt-token-range must be >= 1, got " + tokenRange);
        }
    }

    @Override
    public List<PreparedRequest> requests(Context context, int count, long seed) {
        return requests(context.model(), count, seed);
    }

    public List<PreparedRequest> requests(String model, int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<PreparedRequest> requests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int[] ids = Prompts.randomIds(random, lengths.input(random), tokenRange);
            requests.add(Prompts.tokenIds(model, ids, lengths.output(random)));
        }
        return requests;
    }

    @Override
    public boolean tokenIdPrompts() {
        return true;
    }

    @Override
    public String describe() {
        return "random: " + Lengths.range(lengths.minInput(), lengths.maxInput()) + " token ids in [0, " + tokenRange
                + "), " + Lengths.range(lengths.minOutput(), lengths.maxOutput()) + " output tokens (ignore_eos)";
    }
}
