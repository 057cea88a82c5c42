package dev.afd.attention.spec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.SequenceDecoder;
import dev.afd.model.sampling.SamplingParams;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DraftVerifierTest {
    private static final int VOCAB = 6;
    /** The target's logits: p = softmax, roughly {0.03, 0.08, 0.23, 0.43, 0.16, 0.06}. */
    private static final float[] TARGET = {-1.5f, -0.5f, 0.5f, 1.1f, 0.1f, -0.9f};
    /** The drafter's distribution, far from p: it favours tokens p finds unlikely. */
    private static final float[] Q = {0.30f, 0.05f, 0.10f, 0.15f, 0.05f, 0.35f};

    private static SequenceDecoder decoder(SamplingParams sampling, Set<Integer> stopIds, int maxTokens) {
        return new SequenceDecoder(new GenerationRequest(new int[] {1}, maxTokens, sampling, true, stopIds, 0),
                Set.of(), VOCAB, 1 << 20);
    }

    /** Rows whose argmax is each of {@code tokens} in turn. */
    private static float[] rows(int... tokens) {
        float[] logits = new float[tokens.length * VOCAB];
        for (int r = 0; r < tokens.length; r++) {
            logits[r * VOCAB + tokens[r]] = 5;
        }
        return logits;
    }

    private static double[] target() {
        double[] p = new double[VOCAB];
        double total = 0;
        for (int t = 0; t < VOCAB; t++) {
            p[t] = Math.exp(TARGET[t]);
            total += p[t];
        }
        for (int t = 0; t < VOCAB; t++) {
            p[t] /= total;
        }
        return p;
    }

    @Test
    void greedyAcceptsDraftsWhileTheyAreTheArgmaxThenEmitsTheCorrection() {
        DraftVerifier.Verification v = DraftVerifier.verify(decoder(SamplingParams.greedy(), Set.of(), 8),
                rows(5, 2, 3, 1), VOCAB, new int[] {5, 2, 4}, Draft.NONE);
        assertThat(v.tokens()).containsExactly(5, 2, 3);
        assertThat(v.accepted()).isEqualTo(2);
    }

    @Test
    void greedyEmitsTheBonusTokenAfterEveryDraftIsAccepted() {
        SequenceDecoder decoder = decoder(SamplingParams.greedy(), Set.of(), 8);
        DraftVerifier.Verification v = DraftVerifier.verify(decoder, rows(5, 2, 3, 1), VOCAB, new int[] {5, 2, 3},
                Draft.NONE);
        assertThat(v.tokens()).containsExactly(5, 2, 3, 1);
        assertThat(v.accepted()).isEqualTo(3);
        assertThat(decoder.generatedCount()).isEqualTo(4);
        assertThat(decoder.finished()).isFalse();
    }

    @Test
    void aStopIdOrMaxTokensInsideTheAcceptedRunEndsTheSequenceThere() {
        SequenceDecoder stopped = decoder(SamplingParams.greedy(), Set.of(2), 8);
        DraftVerifier.Verification v = DraftVerifier.verify(stopped, rows(5, 2, 3, 1), VOCAB, new int[] {5, 2, 3},
                Draft.NONE);
        assertThat(v.tokens()).containsExactly(5, 2);
        assertThat(stopped.finishReason()).isEqualTo("stop");

        SequenceDecoder full = decoder(SamplingParams.greedy(), Set.of(), 1);
        v = DraftVerifier.verify(full, rows(5, 2, 3, 1), VOCAB, new int[] {5, 2, 3}, Draft.NONE);
        assertThat(v.tokens()).containsExactly(5);
        assertThat(v.accepted()).isEqualTo(1);
        assertThat(full.finishReason()).isEqualTo("length");
    }

    @Test
    void onlyTheLastRowsAreVerifiedWhenTheChunkAlsoHasPromptRows() {
        float[] logits = rows(0, 0, 4, 1);
        DraftVerifier.Verification v = DraftVerifier.verify(decoder(SamplingParams.greedy(), Set.of(), 8), logits,
                VOCAB, new int[] {4}, Draft.NONE);
        assertThat(v.tokens()).containsExactly(4, 1);
    }

    /**
     * A deterministic drafter (q one-hot) changes nothing in seeded sampling: each position takes the one draw a
     * plain token takes, and the draft is accepted exactly when that draw is the draft.
     */
    @Test
    void deterministicDraftsLeaveSeededSamplingUnchanged() {
        int accepted = 0;
        for (long seed = 0; seed < 300; seed++) {
            SamplingParams sampling = SamplingParams.defaults().withSeed(seed);
            float[] logits = new float[2 * VOCAB];
            System.arraycopy(TARGET, 0, logits, 0, VOCAB);
            System.arraycopy(TARGET, 0, logits, VOCAB, VOCAB);
            SequenceDecoder plain = decoder(sampling, Set.of(), 8);
            int first = plain.accept(TARGET).token();
            int second = plain.accept(TARGET).token();
            DraftVerifier.Verification v = DraftVerifier.verify(decoder(sampling, Set.of(), 8), logits, VOCAB,
                    new int[] {3}, new Draft(new int[] {3}, null));
            assertThat(v.tokens()[0]).as("seed %d", seed).isEqualTo(first);
            if (first == 3) {
                accepted++;
                assertThat(v.tokens()).as("seed %d: accepted, then the bonus token", seed)
                        .containsExactly(first, second);
            } else {
                assertThat(v.tokens()).as("seed %d", seed).containsExactly(first);
            }
        }
        assertThat(accepted).as("p(3) is about 0.43").isBetween(90, 170);
    }

    /**
     * Rejection sampling with a drafter that samples from q: over many seeds, the first token emitted follows the
     * target p, not q (chi-square, 5 degrees of freedom, below 20.5: the 0.1% critical value), and drafts are
     * accepted at the rate sum(min(p, q)) that the method promises.
     */
    @Test
    void sampledDraftsEmitTokensDistributedAsTheTarget() {
        int trials = 40_000;
        SplittableRandom drafter = new SplittableRandom(99);
        long[] counts = new long[VOCAB];
        int accepted = 0;
        float[] logits = new float[2 * VOCAB];
        System.arraycopy(TARGET, 0, logits, 0, VOCAB);
        System.arraycopy(TARGET, 0, logits, VOCAB, VOCAB);
        for (int i = 0; i < trials; i++) {
            int draft = drawFrom(Q, drafter.nextDouble());
            DraftVerifier.Verification v = DraftVerifier.verify(
                    decoder(SamplingParams.defaults().withSeed((long) i), Set.of(), 8), logits, VOCAB,
                    new int[] {draft}, new Draft(new int[] {draft}, new float[][] {Q}));
            counts[v.tokens()[0]]++;
            accepted += v.accepted();
        }
        double[] p = target();
        double chiSquare = 0;
        double overlap = 0;
        for (int t = 0; t < VOCAB; t++) {
            double expected = p[t] * trials;
            chiSquare += (counts[t] - expected) * (counts[t] - expected) / expected;
            overlap += Math.min(p[t], Q[t]);
        }
        assertThat(chiSquare).as("chi-square of the first tokens against p (counts %s)",
                java.util.Arrays.toString(counts)).isLessThan(20.5);
        double rate = (double) accepted / trials;
        double sigma = Math.sqrt(overlap * (1 - overlap) / trials);
        assertThat(rate).as("acceptance rate").isBetween(overlap - 4 * sigma, overlap + 4 * sigma);
    }

    private static int drawFrom(float[] q, double u) {
        for (int t = 0; t < q.length - 1; t++) {
            u -= q[t];
            if (u < 0) {
                return t;
            }
        }
        return q.length - 1;
    }
}
