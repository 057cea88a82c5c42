package dev.afd.attention.kv;

/**
 * One KV group's blocks at a moment, for load reports and metrics.
 *
 * @param group the group's name ({@link KvGroup#FULL} or {@link KvGroup#SLIDING})
 * @param used blocks held by sequences
 * @param free blocks held by no sequence, cached ones included: what sequences can still get
 * @param cached of the free blocks, those keeping a cached prefix
 * @param total blocks of the group's pool
 */
public record KvGroupUsage(String group, int used, int free, int cached, int total) {
    /** The usage of group {@code g} of {@code pools} now; on the engine thread. */
    public static KvGroupUsage of(KvPools pools, int g) {
        BlockPool pool = pools.pool(g);
        return new KvGroupUsage(pools.group(g).name(), pool.used(), pool.available(), pool.cached(), pool.total());
    }
}
