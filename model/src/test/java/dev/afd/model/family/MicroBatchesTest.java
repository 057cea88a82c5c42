package dev.afd.model.family;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class MicroBatchesTest {
    @Test
    void equalItemsSplitIntoContiguousGroupsOfSimilarSize() {
        List<Integer> ten = Collections.nCopies(10, 1);
        assertThat(MicroBatches.split(ten, Integer::intValue, 2)).extracting(List::size).containsExactly(5, 5);
        assertThat(MicroBatches.split(ten, Integer::intValue, 3)).extracting(List::size).containsExactly(3, 4, 3);
        assertThat(MicroBatches.split(ten, Integer::intValue, 20)).as("never more groups than items").hasSize(10);
        assertThat(MicroBatches.split(ten, Integer::intValue, 1)).singleElement().isEqualTo(ten);
    }

    @Test
    void aLongItemGetsItsOwnGroupAndOrderIsKept() {
        List<Integer> mixed = List.of(1, 1, 1, 1, 300);
        List<List<Integer>> groups = MicroBatches.split(mixed, Integer::intValue, 2);
        assertThat(groups).containsExactly(List.of(1, 1, 1, 1), List.of(300));
        assertThat(groups.stream().flatMap(List::stream).toList()).isEqualTo(mixed);
        assertThat(MicroBatches.split(List.<Integer>of(), Integer::intValue, 2)).isEmpty();
        assertThatThrownBy(() -> MicroBatches.split(mixed, Integer::intValue, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
