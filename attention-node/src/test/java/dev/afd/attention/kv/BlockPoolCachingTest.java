package dev.afd.attention.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.model.tensor.DType;
import org.junit.jupiter.api.Test;

/** Reference counting, cached blocks and least-recently-used eviction in {@link BlockPool}. */
class BlockPoolCachingTest {
    private static BlockHash hash(long n) {
        return new BlockHash(n, ~n);
    }

    private static void assertAccounting(BlockPool pool, int used, int cached, int free) {
        assertThat(pool.used()).as("used").isEqualTo(used);
        assertThat(pool.cached()).as("cached").isEqualTo(cached);
        assertThat(pool.free()).as("free").isEqualTo(free);
        assertThat(pool.used() + pool.cached() + pool.free()).isEqualTo(pool.total());
        assertThat(pool.available()).isEqualTo(cached + free);
    }

    @Test
    void aRegisteredBlockStaysCachedAfterItsLastHolderAndIsSharedWithoutCopying() {
        try (BlockPool pool = new BlockPool(4, 1, 4, DType.F32, 2)) {
            int a = pool.allocate();
            pool.register(a, hash(1));
            assertThat(pool.lookup(hash(1))).isEqualTo(a);
            pool.acquire(a);
            assertThat(pool.references(a)).isEqualTo(2);
            assertAccounting(pool, 1, 0, 3);

            pool.release(a);
            pool.release(a);
            assertAccounting(pool, 0, 1, 3);
            assertThat(pool.lookup(hash(1))).as("found after its holders are gone").isEqualTo(a);

            pool.acquire(a);
            assertAccounting(pool, 1, 0, 3);
            pool.release(a);
            int unregistered = pool.allocate();
            pool.release(unregistered);
            assertAccounting(pool, 0, 1, 3);
        }
    }

    @Test
    void evictsCachedBlocksOnlyWhenNoFreeOneIsLeftOldestReleasedFirst() {
        try (BlockPool pool = new BlockPool(3, 1, 4, DType.BF16, 2)) {
            int a = pool.allocate();
            int b = pool.allocate();
            int c = pool.allocate();
            pool.register(a, hash(1));
            pool.register(b, hash(2));
            pool.register(c, hash(3));
            pool.release(b);
            pool.release(a);
            assertAccounting(pool, 1, 2, 0);

            assertThat(pool.allocate()).as("b was released first").isEqualTo(b);
            assertThat(pool.lookup(hash(2))).isEqualTo(BlockPool.NO_BLOCK);
            assertThat(pool.lookup(hash(1))).isEqualTo(a);
            assertThat(pool.evictions()).isEqualTo(1);

            pool.acquire(a);
            assertThat(pool.allocate()).as("every block is held: c and b by their sequences, a taken up again")
                    .isEqualTo(BlockPool.NO_BLOCK);
            assertThat(pool.lookup(hash(3))).as("a held block is never evicted").isEqualTo(c);
            assertAccounting(pool, 3, 0, 0);
        }
    }

    @Test
    void aTwinRegisteredLaterKeepsTheFirstAndBecomesFreeWhenReleased() {
        try (BlockPool pool = new BlockPool(2, 1, 4, DType.F32, 2)) {
            int first = pool.allocate();
            int twin = pool.allocate();
            pool.register(first, hash(7));
            pool.register(twin, hash(7));
            assertThat(pool.lookup(hash(7))).isEqualTo(first);
            pool.release(twin);
            pool.release(first);
            assertAccounting(pool, 0, 1, 1);
        }
    }

    @Test
    void misuseNamesTheBlock() {
        try (BlockPool pool = new BlockPool(2, 1, 4, DType.F32, 2)) {
            int a = pool.allocate();
            assertThatThrownBy(() -> pool.acquire(a)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("KV block " + a).hasMessageContaining("lookup");
            pool.register(a, hash(1));
            assertThatThrownBy(() -> pool.register(a, hash(2))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("registered already");
            pool.release(a);
            assertThatThrownBy(() -> pool.release(a)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("freed twice");
            assertThatThrownBy(() -> pool.register(a, hash(3))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("not held");
        }
    }

    @Test
    void copyDuplicatesEveryLayersKeysAndValues() {
        try (BlockPool pool = new BlockPool(2, 3, 4, DType.BF16, 2)) {
            int from = pool.allocate();
            int to = pool.allocate();
            byte mark = 1;
            for (int l = 0; l < 3; l++) {
                pool.keys(l, from).fill(mark++);
                pool.values(l, from).fill(mark++);
                pool.keys(l, to).fill((byte) 0);
                pool.values(l, to).fill((byte) 0);
            }
            pool.copy(from, to);
            for (int l = 0; l < 3; l++) {
                assertThat(pool.keys(l, to).mismatch(pool.keys(l, from))).isEqualTo(-1);
                assertThat(pool.values(l, to).mismatch(pool.values(l, from))).isEqualTo(-1);
            }
        }
    }

    @Test
    void hashChainsDependOnTheWholePrefixAndOnWhatShapesTheBlocks() {
        int[] tokens = {1, 2, 3, 4, 5, 6};
        BlockHasher hasher = new BlockHasher("model-a", DType.BF16, 2);
        BlockHashChain chain = new BlockHashChain(hasher, p -> tokens[p]);
        int[] other = {9, 9, 3, 4, 5, 6};
        BlockHashChain otherChain = new BlockHashChain(hasher, p -> other[p]);
        assertThat(otherChain.get(1)).as("same block after another first block").isNotEqualTo(chain.get(1));
        assertThat(new BlockHashChain(hasher, p -> tokens[p]).get(2)).isEqualTo(chain.get(2));
        assertThat(new BlockHashChain(new BlockHasher("model-b", DType.BF16, 2), p -> tokens[p]).get(0))
                .isNotEqualTo(chain.get(0));
        assertThat(new BlockHashChain(new BlockHasher("model-a", DType.F32, 2), p -> tokens[p]).get(0))
                .isNotEqualTo(chain.get(0));
    }
}
