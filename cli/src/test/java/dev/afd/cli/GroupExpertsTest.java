package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.ffn.core.ExpertRange;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GroupExpertsTest {
    @Test
    void eachGroupHoldsEveryExpertOnceSplitByOrdinal() {
        List<String> ranges = new ArrayList<>();
        for (int ordinal = 0; ordinal < 6; ordinal++) {
            ranges.add(GroupExperts.of(ordinal, 3, 48).toString());
        }
        assertThat(ranges).containsExactly("0-15", "16-31", "32-47", "0-15", "16-31", "32-47");
        // Uneven shares follow the same formula as the contiguous split: p*E/G to (p+1)*E/G - 1.
        assertThat(GroupExperts.of(1, 3, 8)).isEqualTo(new ExpertRange(2, 4));
        assertThat(GroupExperts.of(7, 1, 8)).isEqualTo(new ExpertRange(0, 7));
    }

    @Test
    void readsTheOrdinalOfAStatefulSetPod() {
        assertThat(GroupExperts.ordinal("ffn-12")).isEqualTo(12);
        assertThat(GroupExperts.ordinal("my-ffn-tier-0")).isZero();
        for (String bad : List.of("ffn", "ffn-", "ffn-x1", "ffn-99999999999")) {
            assertThatThrownBy(() -> GroupExperts.ordinal(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("cannot derive this node's ordinal: host name '" + bad + "' does not end in -ORDINAL"
                            + " (not a StatefulSet pod?); give --ordinal or --experts");
        }
    }

    @Test
    void groupsLargerThanTheExpertsOrNegativeOrdinalsAreClearErrors() {
        assertThatThrownBy(() -> GroupExperts.of(0, 9, 8))
                .hasMessage("--group-size must be between 1 and the model's 8 routed experts, got 9");
        assertThatThrownBy(() -> GroupExperts.of(0, 0, 8))
                .hasMessage("--group-size must be between 1 and the model's 8 routed experts, got 0");
        assertThatThrownBy(() -> GroupExperts.of(-1, 2, 8)).hasMessage("--ordinal must be 0 or more, got -1");
    }
}
