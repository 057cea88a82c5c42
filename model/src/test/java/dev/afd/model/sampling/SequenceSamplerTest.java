package dev.afd.model.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class SequenceSamplerTest {
    private static final float[] LOGITS = {1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.9f};

    private static SequenceSampler sampler(SamplingParams p) {
        return new SequenceSampler(p, new int[] {0}, LOGITS.length);
    }

    private static double[] softmax(float[] l, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) {
            max = Math.max(max, v);
        }
        double[] p = new double[l.length];
        double sum = 0;
        for (int i = 0; i < l.length; i++) {
            p[i] = Math.exp((l[i] - max) / t);
            sum += p[i];
        }
        for (int i = 0; i < l.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @Test
    void greedyPicksTheArgmaxAndReportsItsRawLogprob() {
        Sample s = sampler(SamplingParams.greedy().withTopLogprobs(3)).next(LOGITS);
        assertThat(s.token()).isEqualTo(1);
        assertThat((double) s.logprob()).isCloseTo(Math.log(softmax(LOGITS, 1)[1]), within(1e-6));
        assertThat(s.top()).extracting(TokenLogprob::token).containsExactly(1, 5, 2);
    }

    @Test
    void sameSeedSameTokensDifferentSeedsDiffer() {
        SamplingParams p = SamplingParams.defaults().withTemperature(2).withSeed(42L);
        int[] a = draw(sampler(p), 200);
        int[] b = draw(sampler(p), 200);
        int[] c = draw(sampler(p.withSeed(43L)), 200);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
    }

    @Test
    void drawsFollowTheTemperedDistribution() {
        double t = 1.5;
        SequenceSampler s = sampler(SamplingParams.defaults().withTemperature(t).withSeed(7L));
        int n = 40_000;
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < n; i++) {
            counts[s.next(LOGITS).token()]++;
        }
        double[] p = softmax(LOGITS, t);
        for (int i = 0; i < p.length; i++) {
            double sd = Math.sqrt(p[i] * (1 - p[i]) / n);
            assertThat(counts[i] / (double) n).as("token %d", i).isCloseTo(p[i], within(5 * sd + 1e-4));
        }
    }

    @Test
    void topKKeepsOnlyTheKMostLikely() {
        int[] tokens = draw(sampler(SamplingParams.defaults().withTemperature(5).withTopK(2).withSeed(1L)), 500);
        assertThat(tokens).containsOnly(1, 5);
        assertThat(tokens).contains(1, 5);
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
        double[] p = softmax(LOGITS, 1);
        // p(1) alone is below 0.5; p(1)+p(5) is above: exactly tokens 1 and 5 survive.
        assertThat(p[1]).isLessThan(0.5);
        assertThat(p[1] + p[5]).isGreaterThan(0.5);
        int[] tokens = draw(sampler(SamplingParams.defaults().withTopP(0.5).withSeed(3L)), 500);
        assertThat(tokens).containsOnly(1, 5).contains(1, 5);
    }

    @Test
    void minPDropsTokensBelowTheFractionOfTheTopProbability() {
        // p(2)/p(1) = e^-0.5 = 0.61, p(0)/p(1) = e^-2 = 0.14: min_p 0.3 keeps 1, 5 and 2.
        int[] tokens = draw(sampler(SamplingParams.defaults().withMinP(0.3).withSeed(5L)), 2000);
        assertThat(tokens).containsOnly(1, 5, 2).contains(1, 5, 2);
    }

    @Test
    void penaltiesSteerAwayFromRepeatedTokens() {
        SequenceSampler s = sampler(SamplingParams.greedy().withPenalties(0, 0.3, 1));
        assertThat(s.next(LOGITS).token()).isEqualTo(1);
        // token 1 now has one occurrence: 3.0 - 0.3 = 2.7 < 2.9, so token 5 wins.
        assertThat(s.next(LOGITS).token()).isEqualTo(5);
        // token 5 penalised to 2.6 and token 1 to 2.7: 1 again.
        assertThat(s.next(LOGITS).token()).isEqualTo(1);

        SequenceSampler presence = sampler(SamplingParams.greedy().withPenalties(0.2, 0, 1));
        presence.next(LOGITS);
        assertThat(presence.next(LOGITS).token()).isEqualTo(5);
    }

    @Test
    void repetitionPenaltyCoversThePromptAndKeepsTheRawLogprob() {
        SequenceSampler s = new SequenceSampler(SamplingParams.greedy().withPenalties(0, 0, 1.5),
                new int[] {1}, LOGITS.length);
        Sample sample = s.next(LOGITS);
        // 3.0 / 1.5 = 2.0 < 2.9: token 5, whose reported logprob is from the unpenalised logits.
        assertThat(sample.token()).isEqualTo(5);
        assertThat((double) sample.logprob()).isCloseTo(Math.log(softmax(LOGITS, 1)[5]), within(1e-6));
    }

    @Test
    void outOfRangeParametersAreRejectedByName() {
        assertThatThrownBy(() -> SamplingParams.defaults().withTopP(0))
                .isInstanceOf(SamplingParams.InvalidSamplingException.class)
                .hasMessageContaining("top_p");
        assertThatThrownBy(() -> SamplingParams.defaults().withTemperature(-1)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> SamplingParams.defaults().withTopLogprobs(21)).hasMessageContaining("top_logprobs");
    }

    @Test
    void largeVocabularyTopPMatchesAFullSort() {
        Random r = new Random(9);
        float[] logits = new float[5000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian() * 3;
        }
        SequenceSampler s = new SequenceSampler(SamplingParams.defaults().withTopP(0.2).withSeed(11L), new int[] {0},
                logits.length);
        double[] p = softmax(logits, 1);
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        java.util.Set<Integer> nucleus = new java.util.HashSet<>();
        double mass = 0;
        for (int i = 0; mass < 0.2; i++) {
            nucleus.add(order[i]);
            mass += p[order[i]];
        }
        for (int i = 0; i < 300; i++) {
            assertThat(nucleus).contains(s.next(logits).token());
        }
    }

    private static int[] draw(SequenceSampler s, int n) {
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = s.next(LOGITS).token();
        }
        return tokens;
    }

    @Test
    void logitBiasMovesTheChoiceButNotTheReportedLogprob() {
        LogitControls bias = new LogitControls(java.util.Map.of(3, 5.0f), null);
        Sample s = new SequenceSampler(SamplingParams.greedy(), bias, new int[] {0}, LOGITS.length).next(LOGITS);
        // -1.0 + 5 = 4.0 beats 3.0: token 3 is chosen; its logprob stays the raw model's, as vLLM reports it.
        assertThat(s.token()).isEqualTo(3);
        assertThat((double) s.logprob()).isCloseTo(Math.log(softmax(LOGITS, 1)[3]), within(1e-6));
        LogitControls ban = new LogitControls(java.util.Map.of(1, -100f, 5, -100f), null);
        assertThat(new SequenceSampler(SamplingParams.greedy(), ban, new int[] {0}, LOGITS.length).next(LOGITS)
                .token()).isEqualTo(2);
    }

    @Test
    void allowedTokenIdsAreTheOnlyOnesEverSampled() {
        LogitControls allowed = new LogitControls(java.util.Map.of(), new int[] {4, 0, 4});
        assertThat(allowed.allowedTokenIds()).containsExactly(0, 4);
        SequenceSampler sampler = new SequenceSampler(SamplingParams.defaults().withTemperature(5).withSeed(7L),
                allowed, new int[] {0}, LOGITS.length);
        int[] drawn = draw(sampler, 400);
        assertThat(drawn).containsOnly(0, 4).contains(0, 4);
    }

    @Test
    void logitControlsRefuseWhatCannotBeHonoured() {
        assertThatThrownBy(() -> new LogitControls(java.util.Map.of(1, 101f), null))
                .hasMessageContaining("logit_bias").hasMessageContaining("101");
        assertThatThrownBy(() -> new LogitControls(java.util.Map.of(), new int[0]))
                .hasMessageContaining("allowed_token_ids");
        assertThatThrownBy(() -> new LogitControls(java.util.Map.of(9, 1f), null).requireInVocabulary(6))
                .hasMessageContaining("token id 9").hasMessageContaining("[0, 6)");
    }

    @Test
    void aPromptTokensLogprobHasItsRankAndTheTopTokens() {
        float[] row = new float[2 + LOGITS.length];
        System.arraycopy(LOGITS, 0, row, 2, LOGITS.length);
        PromptLogprob p = SequenceSampler.promptLogprob(row, 2, LOGITS.length, 2, 2);
        assertThat(p.token()).isEqualTo(2);
        assertThat((double) p.logprob()).isCloseTo(Math.log(softmax(LOGITS, 1)[2]), within(1e-6));
        // Logits 3.0 and 2.9 are higher than token 2's 2.5.
        assertThat(p.rank()).isEqualTo(3);
        assertThat(p.top()).extracting(TokenLogprob::token).containsExactly(1, 5);
        assertThat(SequenceSampler.promptLogprob(row, 2, LOGITS.length, 1, 0).rank()).isEqualTo(1);
    }
}
