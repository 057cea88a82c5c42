package dev.afd.attention.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.model.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BlockPoolTest {
    @Test
    void allocatesEveryBlockOnceThenReportsNone() {
        try (BlockPool pool = new BlockPool(5, 2, 8, DType.F32, 4)) {
            Set<Integer> ids = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                int id = pool.allocate();
                assertThat(id).isBetween(0, 4);
                ids.add(id);
                assertThat(pool.used()).isEqualTo(i + 1);
                assertThat(pool.free()).isEqualTo(4 - i);
            }
            assertThat(ids).hasSize(5);
            assertThat(pool.allocate()).isEqualTo(BlockPool.NO_BLOCK);
            assertThat(pool.total()).isEqualTo(5);

            pool.release(3);
            assertThat(pool.used()).isEqualTo(4);
            assertThat(pool.allocate()).as("the freed block is handed out next").isEqualTo(3);
        }
    }

    @Test
    void doubleFreeNamesTheBlock() {
        try (BlockPool pool = new BlockPool(3, 1, 4, DType.BF16, 2)) {
            int id = pool.allocate();
            pool.release(id);
            assertThatThrownBy(() -> pool.release(id)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("KV block " + id).hasMessageContaining("freed twice");
            assertThatThrownBy(() -> pool.release(2)).as("a block never handed out")
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("KV block 2");
            assertThat(pool.free()).as("failed frees change nothing").isEqualTo(3);
            assertThatThrownBy(() -> pool.release(3)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("KV block 3");
        }
    }

    @Test
    void fromMemoryFitsAsManyBlocksAsTheBudgetHolds() {
        long perBlock = BlockPool.bytesPerBlock(4, 16, DType.BF16, 16);
        assertThat(perBlock).isEqualTo(2L * 4 * 16 * 16 * 2);
        try (BlockPool pool = BlockPool.fromMemory(7 * perBlock + perBlock - 1, 4, 16, DType.BF16, 16)) {
            assertThat(pool.total()).isEqualTo(7);
            assertThat(pool.bytes()).isEqualTo(7 * perBlock);
        }
        assertThatThrownBy(() -> BlockPool.fromMemory(perBlock - 1, 4, 16, DType.BF16, 16))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds no block").hasMessageContaining(perBlock + " bytes");
        assertThatThrownBy(() -> new BlockPool(2, 1, 4, DType.F16, 4))
                .hasMessageContaining("f32 or bf16");
    }

    @Test
    void everyLayerKeyAndValuePieceIsItsOwnMemory() {
        int layers = 3;
        int blocks = 4;
        try (BlockPool pool = new BlockPool(blocks, layers, 8, DType.F32, 4)) {
            long pieceBytes = 4L * 8 * 4;
            byte mark = 1;
            for (int b = 0; b < blocks; b++) {
                for (int l = 0; l < layers; l++) {
                    assertThat(pool.keys(l, b).byteSize()).isEqualTo(pieceBytes);
                    pool.keys(l, b).fill(mark++);
                    pool.values(l, b).fill(mark++);
                }
            }
            mark = 1;
            for (int b = 0; b < blocks; b++) {
                for (int l = 0; l < layers; l++) {
                    assertFilled(pool.keys(l, b), mark++);
                    assertFilled(pool.values(l, b), mark++);
                }
            }
            assertThatThrownBy(() -> pool.keys(layers, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    private static void assertFilled(MemorySegment piece, byte mark) {
        for (long i = 0; i < piece.byteSize(); i++) {
            assertThat(piece.get(ValueLayout.JAVA_BYTE, i)).isEqualTo(mark);
        }
    }
}
