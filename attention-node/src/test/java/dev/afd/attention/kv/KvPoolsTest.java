package dev.afd.attention.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.model.family.KvLayout;
import dev.afd.model.tensor.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** KV groups from a layout, the split of the KV memory between their pools, and sliding block tables. */
class KvPoolsTest {
    /** Layers: full (2 heads), sliding 10 (1 head), sliding 6 (1 head), full (2 heads). */
    private static final KvLayout HYBRID = new KvLayout(8, new int[] {2, 1, 1, 2}, new int[] {0, 10, 6, 0});

    @Test
    void groupsSplitTheSlotsByAttentionTypeWithTheLargestWindow() {
        List<KvGroup> groups = KvPools.groupsOf(HYBRID);
        assertThat(groups).containsExactly(new KvGroup(KvGroup.FULL, new int[] {0, 1, 4, 5}, 0),
                new KvGroup(KvGroup.SLIDING, new int[] {2, 3}, 10));
        assertThat(KvPools.groupsOf(KvLayout.singleHead(3, 8)))
                .containsExactly(new KvGroup(KvGroup.FULL, new int[] {0, 1, 2}, 0));
    }

    @Test
    void withoutSlidingLayersOnePoolTakesTheWholeBudgetAsBefore() {
        long perBlock = BlockPool.bytesPerBlock(3, 8, DType.BF16, 4);
        try (KvPools pools = KvPools.fromMemory(10 * perBlock + perBlock - 1, KvLayout.singleHead(3, 8), DType.BF16, 4,
                256, 2048)) {
            assertThat(pools.size()).isEqualTo(1);
            assertThat(pools.pool(0).total()).isEqualTo(10);
        }
    }

    @Test
    void theSlidingPoolGetsWhatItsSequencesCanHoldAndTheFullPoolTheRest() {
        long full = BlockPool.bytesPerBlock(4, 8, DType.F32, 4);
        long sliding = BlockPool.bytesPerBlock(2, 8, DType.F32, 4);
        // Cap: 3 sequences × (window 10 spans 4 blocks, + 2) + an 8-token step's 2 blocks = 20.
        try (KvPools pools = KvPools.fromMemory(100 * full + 20 * sliding, HYBRID, DType.F32, 4, 3, 8)) {
            assertThat(pools.pool(0).total()).isEqualTo(100);
            assertThat(pools.pool(1).total()).isEqualTo(20);
            assertThat(pools.pool(1).numLayers()).isEqualTo(2);
            assertThat(pools.groupOf(3)).isEqualTo(1);
            assertThat(pools.localSlot(3)).isEqualTo(1);
            assertThat(pools.localSlot(4)).isEqualTo(2);
        }
        // Below the cap both get as many blocks: no sequence holds more sliding blocks than full ones.
        try (KvPools pools = KvPools.fromMemory(7 * (full + sliding), HYBRID, DType.F32, 4, 3, 8)) {
            assertThat(pools.pool(0).total()).isEqualTo(7);
            assertThat(pools.pool(1).total()).isEqualTo(7);
        }
        assertThatThrownBy(() -> KvPools.fromMemory(full, HYBRID, DType.F32, 4, 3, 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds no block")
                .hasMessageContaining("sliding-window slots");
    }

    @Test
    void aSlidingTableGivesBackWhatLeavesTheWindowAndRefusesToReadIt() {
        try (KvPools pools = KvPools.fromMemory(20 * BlockPool.bytesPerBlock(6, 8, DType.F32, 4), HYBRID,
                DType.F32, 4, 3, 8)) {
            PagedSequenceKv kv = new PagedSequenceKv(pools);
            assertThat(kv.ensureCapacity(23)).isTrue();
            kv.slide(23);
            // A query at 23 sees from 14 (window 10): block 3 on; the full group keeps all 6.
            assertThat(kv.table(0).held()).isEqualTo(6);
            assertThat(kv.table(1).firstHeld()).isEqualTo(3);
            assertThat(kv.table(1).held()).isEqualTo(3);
            assertThat(pools.pool(1).used()).isEqualTo(3);
            assertThat(kv.capacity()).isEqualTo(24);
            float[] row = new float[8];
            kv.write(2, 22, row, 0, row, 0);
            assertThat(kv.layer(2).keys(3)).isNotNull();
            assertThat(kv.layer(0).keys(0)).as("full-attention slots keep every block").isNotNull();
            assertThatThrownBy(() -> kv.layer(2).keys(2)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("fell out of the sliding window");
            assertThatThrownBy(() -> kv.write(3, 5, row, 0, row, 0)).isInstanceOf(IndexOutOfBoundsException.class);
            kv.release();
            assertThat(pools.pool(0).used() + pools.pool(1).used()).isZero();
        }
    }
}
