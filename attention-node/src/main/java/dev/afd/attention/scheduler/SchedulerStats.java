package dev.afd.attention.scheduler;

import dev.afd.attention.kv.KvGroupUsage;
import java.util.List;

/**
 * A snapshot of the scheduler's load.
 *
 * @param blocksUsed KV blocks held by sequences
 * @param blocksFree KV blocks held by no sequence, cached ones included: what sequences can still get
 * @param blocksCached of the free blocks, those keeping a cached prefix (evicted, least recently used first, when
 *     the pool needs them)
 * @param preemptions sequences preempted (blocks released, to be recomputed) since start-up
 * @param prefixQueriedTokens tokens of admitted sequences looked up in the prefix cache (vLLM's prefix cache queries)
 * @param prefixHitTokens of those, tokens found cached and not computed again (vLLM's prefix cache hits)
 * @param evictions cached blocks evicted to make room since start-up
 * @param kvGroups the blocks of each KV group (one, {@code full}, without sliding-window layers); the counts above
 *     are their sums
 */
public record SchedulerStats(int waiting, int running, int blocksUsed, int blocksFree, int blocksCached,
        long preemptions, long prefixQueriedTokens, long prefixHitTokens, long evictions,
        List<KvGroupUsage> kvGroups) {
    public SchedulerStats {
        kvGroups = List.copyOf(kvGroups);
    }
}
