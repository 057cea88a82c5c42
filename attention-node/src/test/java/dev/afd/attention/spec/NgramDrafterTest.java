package dev.afd.attention.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NgramDrafterTest {
    private static int[] propose(NgramDrafter drafter, int k, int... tokens) {
        Draft d = drafter.open().propose(tokens, k);
        assertThat(d.probabilities()).as("a deterministic drafter has no q").isNull();
        return d.tokens();
    }

    @Test
    void proposesWhatFollowedTheLatestEarlierOccurrenceOfTheLongestMatchingSuffix() {
        NgramDrafter drafter = new NgramDrafter(1, 3);
        // Suffix 7 8 9 occurs at 0 (followed by 1 2) and at 5 (followed by 4 4): the latest wins.
        assertThat(propose(drafter, 2, 7, 8, 9, 1, 2, 7, 8, 9, 4, 4, 6, 7, 8, 9)).containsExactly(4, 4);
        // Only the last two tokens (3 5) occur earlier; the 3-gram 9 3 5 does not.
        assertThat(propose(drafter, 3, 3, 5, 6, 2, 9, 3, 5)).containsExactly(6, 2, 9);
        // Fewer than k tokens follow the match: as many as there are.
        assertThat(propose(drafter, 5, 1, 2, 3, 1, 2)).containsExactly(3, 1, 2);
    }

    @Test
    void proposesNothingWithoutAMatchOfAtLeastTheShortestLength() {
        assertThat(propose(new NgramDrafter(1, 3), 3, 1, 2, 3, 4)).isEmpty();
        assertThat(propose(new NgramDrafter(2, 3), 3, 1, 2, 3, 2)).as("only a 1-gram matches").isEmpty();
        assertThat(propose(new NgramDrafter(1, 3), 3, 4)).as("a single token has no earlier occurrence").isEmpty();
    }

    @Test
    void lengthsAreChecked() {
        assertThatThrownBy(() -> new NgramDrafter(0, 3)).hasMessageContaining("1 <= min <= max");
        assertThatThrownBy(() -> new NgramDrafter(3, 2)).hasMessageContaining("1 <= min <= max");
        assertThatThrownBy(() -> new SpeculativeConfig(SpeculativeConfig.Method.NGRAM, 9, 1, 3))
                .hasMessageContaining("--speculative-tokens");
    }
}
