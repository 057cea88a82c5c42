package dev.afd.attention.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.kv.BlockHasher;
import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.kv.BlockTable;
import dev.afd.attention.kv.KvGroup;
import dev.afd.attention.kv.KvPools;
import dev.afd.model.tensor.DType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A thousand requests with random lengths arrive over time, some are aborted (also while their step runs), and the
 * pool is small enough that preemption is routine. Every step keeps the scheduler's invariants, every finished
 * sequence generates what an unpreempted run would, and at the end every block is free. Half the prompts start with
 * one of a few shared prefixes, so with prefix caching sequences share blocks, find them cached after their holders
 * finished, and lose them to eviction; the fake model reads every token back through the block tables. With drafts,
 * decoding sequences verify random proposals (some right, some not): a rejected draft's position must never reach
 * another sequence through the prefix cache, nor a later prediction of its own sequence. With a sliding-window group,
 * each sequence holds exactly the sliding blocks its next query can see, every read through them is checked against
 * the full group, and prefix hits take only what the window needs.
 */
class SchedulerRandomizedTest {
    private static final int REQUESTS = 1_000;
    private static final int BUDGET = 256;
    private static final int MAX_RUNNING = 24;

    /** The sliding group's window when there is one: not a multiple of the block size. */
    private static final int WINDOW = 40;

    @ParameterizedTest(name = "prefix caching {0}, drafts {1}, sliding window {2}")
    @CsvSource({"false, false, false", "true, false, false", "false, true, false", "true, true, false",
            "false, false, true", "true, false, true", "false, true, true", "true, true, true"})
    void randomTrafficLeavesNoSequenceAndNoBlockBehind(boolean prefixCaching, boolean drafts, boolean sliding) {
        SplittableRandom random = new SplittableRandom(2024);
        int[][] prefixes = IntStream.range(0, 6)
                .mapToObj(i -> random.ints(random.nextInt(1, 200), 1, FakeModel.VOCAB).toArray())
                .toArray(int[][]::new);
        FakeModel model = new FakeModel();
        Map<String, int[]> prompts = new HashMap<>();
        List<ScheduledSequence> live = new ArrayList<>();
        int added = 0;
        int finished = 0;
        int aborted = 0;
        long draftTokens = 0;
        long accepted = 0;
        try (KvPools pools = pools(sliding)) {
            SchedulerConfig config = new SchedulerConfig(BUDGET, MAX_RUNNING);
            Scheduler scheduler = prefixCaching
                    ? new Scheduler(pools, config, new BlockHasher("fake", DType.BF16, 16))
                    : new Scheduler(pools, config);
            for (int iteration = 0; added < REQUESTS || scheduler.hasWork(); iteration++) {
                assertThat(iteration).as("iterations").isLessThan(200_000);
                for (int n = random.nextInt(4); n > 0 && added < REQUESTS; n--) {
                    String id = "r" + added++;
                    int[] prompt = prompt(random, prefixes);
                    prompts.put(id, prompt);
                    live.add(scheduler.add(id, prompt, random.nextInt(1, 120)));
                }
                if (!live.isEmpty() && random.nextInt(10) == 0) {
                    assertThat(scheduler.abort(live.remove(random.nextInt(live.size())))).isTrue();
                    aborted++;
                }
                Step step = scheduler.schedule();
                checkInvariants(scheduler, step);
                if (step.isEmpty()) {
                    continue;
                }
                int[][] sampled = model.run(step);
                if (!live.isEmpty() && random.nextInt(20) == 0) {
                    assertThat(scheduler.abort(live.remove(random.nextInt(live.size())))).isTrue();
                    aborted++;
                }
                scheduler.complete(step, sampled);
                for (int i = 0; i < sampled.length; i++) {
                    Step.Entry e = step.entries().get(i);
                    draftTokens += e.drafts();
                    accepted += e.drafts() == 0 || sampled[i].length == 0 ? 0 : sampled[i].length - 1;
                }
                for (Step.Entry e : step.entries()) {
                    ScheduledSequence s = e.sequence();
                    if (s.state() == SequenceState.RUNNING && FakeModel.done(s)) {
                        assertThat(s.generated()).as("tokens of %s", s.id())
                                .containsExactly(FakeModel.expected(prompts.get(s.id()), s.maxTokens()));
                        scheduler.finish(s);
                        live.remove(s);
                        finished++;
                    }
                }
                if (drafts) {
                    for (ScheduledSequence s : scheduler.running()) {
                        if (s.remaining() == 1) {
                            scheduler.propose(s, drafts(random, s, prompts.get(s.id())));
                        }
                    }
                }
            }
            assertThat(finished + aborted).isEqualTo(REQUESTS);
            assertThat(live).isEmpty();
            SchedulerStats stats = scheduler.stats();
            assertThat(stats.waiting()).isZero();
            assertThat(stats.running()).isZero();
            assertThat(stats.blocksUsed()).isZero();
            BlockPool pool = pools.pool(0);
            assertThat(stats.kvGroups()).allSatisfy(g -> {
                assertThat(g.used()).isZero();
                assertThat(g.free()).isEqualTo(g.total());
            });
            assertThat(pool.used()).isZero();
            assertThat(pool.free() + pool.cached()).isEqualTo(pool.total());
            assertThat(stats.preemptions()).as("the pool is small enough to force preemptions").isPositive();
            if (drafts) {
                assertThat(accepted).as("drafts accepted").isPositive();
                assertThat(draftTokens - accepted).as("drafts rejected").isPositive();
            } else {
                assertThat(draftTokens).isZero();
            }
            if (prefixCaching) {
                assertThat(stats.prefixHitTokens()).as("tokens found cached").isPositive();
                assertThat(stats.prefixQueriedTokens()).isGreaterThan(stats.prefixHitTokens());
                assertThat(stats.evictions()).as("the pool is small enough to evict").isPositive();
                assertThat(pool.cached()).isPositive();
            } else {
                assertThat(stats.blocksFree()).isEqualTo(stats.kvGroups().stream().mapToInt(g -> g.total()).sum());
                assertThat(stats.blocksCached()).isZero();
                assertThat(stats.prefixQueriedTokens()).isZero();
            }
        }
    }

    /**
     * Up to 4 drafts (fewer near max_tokens): half the time the true continuation, possibly with a wrong token from
     * a random place on, else random tokens.
     */
    private static int[] drafts(SplittableRandom random, ScheduledSequence s, int[] prompt) {
        int count = random.nextInt(0, Math.min(4, s.maxTokens() - s.generatedCount() - 1) + 1);
        int[] expected = FakeModel.expected(prompt, s.maxTokens());
        int[] drafts = new int[count];
        boolean right = random.nextBoolean();
        int wrongFrom = random.nextInt(0, count + 1);
        for (int i = 0; i < count; i++) {
            int at = s.generatedCount() + i;
            drafts[i] = right && i < wrongFrom && at < expected.length ? expected[at]
                    : random.nextInt(1, FakeModel.VOCAB);
        }
        return drafts;
    }

    /**
     * 48 blocks of a full-attention slot; with {@code sliding}, also 24 of a sliding one, room for one sequence's
     * window and a whole step's chunk ({@link KvGroup#blocksNeeded}: 20).
     */
    private static KvPools pools(boolean sliding) {
        BlockPool full = new BlockPool(48, 1, 4, DType.BF16, 16);
        if (!sliding) {
            return KvPools.single(full);
        }
        return new KvPools(List.of(new KvGroup(KvGroup.FULL, new int[] {0}, 0),
                new KvGroup(KvGroup.SLIDING, new int[] {1}, WINDOW)),
                List.of(full, new BlockPool(24, 1, 4, DType.BF16, 16)));
    }

    /** One of the shared prefixes and a suffix of its own, or (half the time) a prompt of its own. */
    private static int[] prompt(SplittableRandom random, int[][] prefixes) {
        if (random.nextBoolean()) {
            return random.ints(random.nextInt(1, 300), 1, FakeModel.VOCAB).toArray();
        }
        int[] prefix = prefixes[random.nextInt(prefixes.length)];
        int[] suffix = random.ints(random.nextInt(0, 100), 1, FakeModel.VOCAB).toArray();
        return IntStream.concat(IntStream.of(prefix), IntStream.of(suffix)).toArray();
    }

    private static void checkInvariants(Scheduler scheduler, Step step) {
        assertThat(step.tokenCount()).isLessThanOrEqualTo(BUDGET);
        List<ScheduledSequence> running = scheduler.running();
        assertThat(running).hasSizeLessThanOrEqualTo(MAX_RUNNING);
        assertThat(step.isEmpty()).as("a step is empty only when there is nothing to run")
                .isEqualTo(!scheduler.hasWork());
        Set<ScheduledSequence> scheduled = new HashSet<>();
        for (Step.Entry e : step.entries()) {
            ScheduledSequence s = e.sequence();
            assertThat(scheduled.add(s)).as("%s is scheduled once", s.id()).isTrue();
            assertThat(s.state()).isEqualTo(SequenceState.RUNNING);
            assertThat(e.start()).isEqualTo(s.computed());
            assertThat(e.wantLogits()).isEqualTo(e.start() + e.tokens().length - e.drafts() == s.totalTokens());
        }
        KvPools pools = scheduler.pools();
        for (int g = 0; g < pools.size(); g++) {
            KvGroup group = pools.group(g);
            Set<Integer> held = new HashSet<>();
            for (ScheduledSequence s : running) {
                assertThat(s.state()).isEqualTo(SequenceState.RUNNING);
                BlockTable table = s.kv().table(g);
                assertThat(table.count()).isEqualTo(s.kv().blockCount());
                assertThat(table.firstHeld()).as("%s holds the %s blocks its next query sees", s.id(), group.name())
                        .isEqualTo(group.firstVisibleBlock(s.computed(), 16));
                for (int block : table.blocks()) {
                    held.add(block);
                }
            }
            for (ScheduledSequence s : scheduler.waiting()) {
                assertThat(s.state()).isEqualTo(SequenceState.WAITING);
                assertThat(s.kv().table(g).blocks()).as("%s waits without blocks", s.id()).isEmpty();
                assertThat(s.computed()).isZero();
            }
            BlockPool pool = pools.pool(g);
            assertThat(held).as("%s blocks held by running sequences", group.name()).hasSize(pool.used());
            assertThat(pool.used() + pool.cached() + pool.free()).isEqualTo(pool.total());
        }
    }
}
