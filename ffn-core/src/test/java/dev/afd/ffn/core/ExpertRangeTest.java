package dev.afd.ffn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ExpertRangeTest {
    @Test
    void parsesInclusiveRanges() {
        ExpertRange r = ExpertRange.parse(" 0-23 ");
        assertThat(r).isEqualTo(new ExpertRange(0, 23));
        assertThat(r.size()).isEqualTo(24);
        assertThat(r.contains(0)).isTrue();
        assertThat(r.contains(23)).isTrue();
        assertThat(r.contains(24)).isFalse();
        assertThat(r.contains(-1)).isFalse();
        assertThat(r).hasToString("0-23");
        assertThat(ExpertRange.parse("7")).isEqualTo(new ExpertRange(7, 7));
    }

    @Test
    void badRangesSayHowToWriteOne() {
        assertThatThrownBy(() -> ExpertRange.parse("a-3")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expert range 'a-3' is not FIRST-LAST with whole numbers, e.g. 0-23");
        assertThatThrownBy(() -> ExpertRange.parse("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is not FIRST-LAST");
        assertThatThrownBy(() -> ExpertRange.parse("9-3")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expert range 9-3 is empty or negative");
        assertThatThrownBy(() -> ExpertRange.parse("-2-3")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expert range -2-3 is empty or negative");
    }

    @Test
    void mustFitTheModel() {
        assertThat(new ExpertRange(0, 47).requireWithin(48)).isEqualTo(new ExpertRange(0, 47));
        assertThatThrownBy(() -> new ExpertRange(40, 48).requireWithin(48))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("experts 40-48 exceed the model's 48 routed experts; pick a range within 0-47");
        assertThatThrownBy(() -> new ExpertRange(0, 0).requireWithin(0))
                .hasMessageContaining("the model has no routed experts");
    }
}
