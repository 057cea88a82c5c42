package dev.afd.attention.spec;

import dev.afd.model.generate.SequenceDecoder;
import dev.afd.model.sampling.Sample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns one step's logit rows of a sequence into the tokens it emits. Row 0 is the logits after the sequence's last
 * token, row i+1 after draft i. Walking the rows in order, each picks a token with the sequence's
 * {@link SequenceDecoder} (so penalties, grammar masks, min_tokens, stop ids, max_tokens and the seeded random stream
 * behave exactly as without drafts) given the draft at that position; the walk goes on while the token picked is
 * the draft, and stops at the first one that is not (the correction), after the row past the last draft (the bonus
 * token), or where the decoder ends the sequence. Greedy decoding thus emits exactly the tokens it would one by one;
 * sampled decoding follows the target distribution (rejection sampling, in
 * {@link dev.afd.model.sampling.SequenceSampler}).
 *
 * <p>Stateless; called on the engine thread.
 */
public final class DraftVerifier {
    private DraftVerifier() {}

    /**
     * What one sequence emits in a step.
     *
     * @param samples the tokens emitted, in order (at least one)
     * @param accepted how many drafts were accepted: the leading samples that are drafts
     */
    public record Verification(List<Sample> samples, int accepted) {
        public int[] tokens() {
            return samples.stream().mapToInt(Sample::token).toArray();
        }
    }

    /**
     * @param logits the step's logits for the sequence, {@code vocab} floats per row; the last
     *     {@code drafts.length + 1} rows are the ones verified (earlier rows, prompt rows, are not looked at)
     * @param drafts the drafts fed after the last token, in order
     * @param draft where they came from: their distributions, when the drafter samples
     */
    public static Verification verify(SequenceDecoder decoder, float[] logits, int vocab, int[] drafts, Draft draft) {
        int rows = logits.length / vocab;
        int first = rows - drafts.length - 1;
        if (first < 0 || logits.length % vocab != 0) {
            throw new IllegalArgumentException(drafts.length + " drafts need " + (drafts.length + 1)
                    + " logit rows, got " + logits.length + " floats for a vocabulary of " + vocab);
        }
        List<Sample> samples = new ArrayList<>(drafts.length + 1);
        int accepted = 0;
        for (int i = 0; i <= drafts.length; i++) {
            float[] row = rows == 1 ? logits : Arrays.copyOfRange(logits, (first + i) * vocab, (first + i + 1) * vocab);
            Sample s = i < drafts.length
                    ? decoder.accept(row, drafts[i], draft.probabilities(i))
                    : decoder.accept(row);
            samples.add(s);
            boolean hit = i < drafts.length && s.token() == drafts[i];
            if (hit) {
                accepted++;
            }
            if (!hit || decoder.finished()) {
                break;
            }
        }
        return new Verification(List.copyOf(samples), accepted);
    }
}
