package dev.afd.attention.kv;

import dev.afd.model.family.KvLayout;
import dev.afd.model.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The attention node's KV memory as vLLM's hybrid KV cache manager lays it out: one {@link BlockPool} per
 * {@link KvGroup} of cache slots sharing an attention type, so that each sequence keeps one block table per group
 * ({@link PagedSequenceKv}). A model without sliding-window layers has a single group, {@code full}, over every slot,
 * exactly one pool as before; one with sliding layers adds a {@code sliding} group whose sequences hold only the
 * blocks their window still needs.
 *
 * <p>Separate pools, not one pool with a table per group: a pool block spans every slot of its pool, so in a shared
 * pool a block held by the sliding table would keep the full-attention slots' memory of those positions too, and
 * dropping it would save nothing.
 *
 * <p>Threading: as {@link BlockPool}; the engine thread owns it, and {@link #close()} frees every pool.
 */
public final class KvPools implements AutoCloseable {
    private final List<KvGroup> groups;
    private final BlockPool[] pools;
    private final int[] slotGroup;
    private final int[] slotLocal;

    /**
     * Pools for {@code groups}, one each and in the same order: pool {@code g} must hold one layer per slot of group
     * {@code g}, and every pool the same block size and element type. The groups must cover slots {@code 0 .. n-1}
     * once each.
     */
    public KvPools(List<KvGroup> groups, List<BlockPool> pools) {
        if (groups.isEmpty() || groups.size() != pools.size()) {
            throw new IllegalArgumentException("KV pools need one pool per group and at least one group; got "
                    + groups.size() + " groups and " + pools.size() + " pools");
        }
        this.groups = List.copyOf(groups);
        this.pools = pools.toArray(BlockPool[]::new);
        int slots = groups.stream().mapToInt(g -> g.slots().length).sum();
        this.slotGroup = new int[slots];
        this.slotLocal = new int[slots];
        Arrays.fill(slotGroup, -1);
        for (int g = 0; g < groups.size(); g++) {
            int[] own = groups.get(g).slots();
            BlockPool pool = this.pools[g];
            if (pool.numLayers() != own.length || pool.blockSize() != this.pools[0].blockSize()
                    || pool.dtype() != this.pools[0].dtype()) {
                throw new IllegalArgumentException("the pool of KV group " + groups.get(g).name() + " holds "
                        + pool.numLayers() + " slots of blocks of " + pool.blockSize() + " " + pool.dtype()
                        + " positions; the group has " + own.length + " slots and the first pool blocks of "
                        + this.pools[0].blockSize() + " " + this.pools[0].dtype() + " positions");
            }
            for (int i = 0; i < own.length; i++) {
                if (own[i] < 0 || own[i] >= slots || slotGroup[own[i]] != -1) {
                    throw new IllegalArgumentException("KV groups must cover slots 0.." + (slots - 1)
                            + " once each; slot " + own[i] + " of group " + groups.get(g).name() + " does not");
                }
                slotGroup[own[i]] = g;
                slotLocal[own[i]] = i;
            }
        }
    }

    /** One {@code full} group over every layer of {@code pool}: a model without sliding-window layers. */
    public static KvPools single(BlockPool pool) {
        int[] slots = new int[pool.numLayers()];
        Arrays.setAll(slots, i -> i);
        return new KvPools(List.of(new KvGroup(KvGroup.FULL, slots, 0)), List.of(pool));
    }

    /**
     * The groups of {@code layout}: {@code full} for the slots of layers that see every position, {@code sliding}
     * for those of sliding-window layers (with the largest window among them); a group without slots is left out.
     */
    public static List<KvGroup> groupsOf(KvLayout layout) {
        List<Integer> full = new ArrayList<>();
        List<Integer> sliding = new ArrayList<>();
        int window = 0;
        for (int l = 0; l < layout.layers(); l++) {
            for (int h = 0; h < layout.kvHeads(l); h++) {
                (layout.window(l) == 0 ? full : sliding).add(layout.slot(l, h));
            }
            window = Math.max(window, layout.window(l));
        }
        List<KvGroup> groups = new ArrayList<>();
        if (!full.isEmpty()) {
            groups.add(new KvGroup(KvGroup.FULL, full.stream().mapToInt(Integer::intValue).toArray(), 0));
        }
        if (!sliding.isEmpty()) {
            groups.add(new KvGroup(KvGroup.SLIDING, sliding.stream().mapToInt(Integer::intValue).toArray(), window));
        }
        return groups;
    }

    /**
     * Carves {@code bytes} into pools for {@code layout}'s groups. A single group takes it all
     * ({@link BlockPool#fromMemory}). With a sliding group, full-attention blocks grow with every sequence's length
     * but sliding ones do not, so the sliding pool gets what it can use and the full pool the rest: as many blocks as
     * the full pool has (no sequence holds more sliding blocks than full ones), but no more than
     * {@code maxRunning} sequences can hold at once, each its window plus the block it writes and one it straddles,
     * plus the blocks of one step's {@code maxBatchedTokens} positions.
     *
     * @throws IllegalArgumentException when a pool would get no block
     */
    public static KvPools fromMemory(long bytes, KvLayout layout, DType dtype, int blockSize, int maxRunning,
            int maxBatchedTokens) {
        List<KvGroup> groups = groupsOf(layout);
        if (groups.size() == 1) {
            return new KvPools(groups, List.of(BlockPool.fromMemory(bytes, layout.slots(), layout.headDim(), dtype,
                    blockSize)));
        }
        KvGroup full = groups.get(0);
        KvGroup sliding = groups.get(1);
        long fullBytes = BlockPool.bytesPerBlock(full.slots().length, layout.headDim(), dtype, blockSize);
        long slidingBytes = BlockPool.bytesPerBlock(sliding.slots().length, layout.headDim(), dtype, blockSize);
        long slidingCap = maxRunning * (KvGroup.blocksSpanned(sliding.window(), blockSize) + 2)
                + Math.ceilDiv(maxBatchedTokens, blockSize);
        long fullBlocks = bytes / (fullBytes + slidingBytes);
        long slidingBlocks = fullBlocks;
        if (fullBlocks > slidingCap) {
            slidingBlocks = slidingCap;
            fullBlocks = (bytes - slidingCap * slidingBytes) / fullBytes;
        }
        if (fullBlocks < 1) {
            throw new IllegalArgumentException("a KV memory budget of " + bytes + " bytes holds no block: one block of "
                    + blockSize + " positions needs " + fullBytes + " bytes for the " + full.slots().length
                    + " full-attention slots and " + slidingBytes + " for the " + sliding.slots().length
                    + " sliding-window slots (head_dim " + layout.headDim() + ", "
                    + dtype.name().toLowerCase(Locale.ROOT) + "); raise the KV memory budget or lower the block size");
        }
        return new KvPools(groups, List.of(
                new BlockPool((int) Math.min(fullBlocks, BlockPool.MAX_BLOCKS), full.slots().length,
                        layout.headDim(), dtype, blockSize),
                new BlockPool((int) Math.min(slidingBlocks, BlockPool.MAX_BLOCKS), sliding.slots().length,
                        layout.headDim(), dtype, blockSize)));
    }

    /** Number of groups (and pools). */
    public int size() {
        return pools.length;
    }

    public List<KvGroup> groups() {
        return groups;
    }

    public KvGroup group(int g) {
        return groups.get(g);
    }

    public BlockPool pool(int g) {
        return pools[g];
    }

    /** The group holding cache slot {@code slot}. */
    public int groupOf(int slot) {
        return slotGroup[slot];
    }

    /** Where cache slot {@code slot} lies in its group's pool. */
    public int localSlot(int slot) {
        return slotLocal[slot];
    }

    /** Cache slots over all groups. */
    public int slots() {
        return slotGroup.length;
    }

    public int blockSize() {
        return pools[0].blockSize();
    }

    public DType dtype() {
        return pools[0].dtype();
    }

    @Override
    public void close() {
        for (BlockPool pool : pools) {
            pool.close();
        }
    }
}
