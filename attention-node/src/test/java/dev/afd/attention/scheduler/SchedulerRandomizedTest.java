package dev.afd.attention.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.kv.BlockPool;
import dev.afd.model.tensor.DType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A thousand requests with random lengths arrive over time, some are aborted (also while their step runs), and the
 * pool is small enough that preemption is routine. Every step keeps the scheduler's invariants, every finished
 * sequence generates what an unpreempted run would, and at the end every block is free.
 */
class SchedulerRandomizedTest {
    private static final int REQUESTS = 1_000;
    private static final int BUDGET = 256;
    private static final int MAX_RUNNING = 24;

    @Test
    void randomTrafficLeavesNoSequenceAndNoBlockBehind() {
        SplittableRandom random = new SplittableRandom(2024);
        FakeModel model = new FakeModel();
        Map<String, int[]> prompts = new HashMap<>();
        List<ScheduledSequence> live = new ArrayList<>();
        int added = 0;
        int finished = 0;
        int aborted = 0;
        try (BlockPool pool = new BlockPool(48, 2, 4, DType.BF16, 16)) {
            Scheduler scheduler = new Scheduler(pool, new SchedulerConfig(BUDGET, MAX_RUNNING));
            for (int iteration = 0; added < REQUESTS || scheduler.hasWork(); iteration++) {
                assertThat(iteration).as("iterations").isLessThan(200_000);
                for (int n = random.nextInt(4); n > 0 && added < REQUESTS; n--) {
                    String id = "r" + added++;
                    int[] prompt = random.ints(random.nextInt(1, 300), 1, FakeModel.VOCAB).toArray();
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
                int[] sampled = model.run(step);
                if (!live.isEmpty() && random.nextInt(20) == 0) {
                    assertThat(scheduler.abort(live.remove(random.nextInt(live.size())))).isTrue();
                    aborted++;
                }
                scheduler.complete(step, sampled);
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
            }
            assertThat(finished + aborted).isEqualTo(REQUESTS);
            assertThat(live).isEmpty();
            assertThat(pool.free()).isEqualTo(pool.total());
            SchedulerStats stats = scheduler.stats();
            assertThat(stats.waiting()).isZero();
            assertThat(stats.running()).isZero();
            assertThat(stats.blocksUsed()).isZero();
            assertThat(stats.preemptions()).as("the pool is small enough to force preemptions").isPositive();
        }
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
            assertThat(e.wantLogits()).isEqualTo(e.start() + e.tokens().length == s.totalTokens());
        }
        int held = 0;
        for (ScheduledSequence s : running) {
            assertThat(s.state()).isEqualTo(SequenceState.RUNNING);
            held += s.kv().blocks().length;
        }
        for (ScheduledSequence s : scheduler.waiting()) {
            assertThat(s.state()).isEqualTo(SequenceState.WAITING);
            assertThat(s.kv().blocks()).as("%s waits without blocks", s.id()).isEmpty();
            assertThat(s.computed()).isZero();
        }
        assertThat(held).as("blocks held by running sequences").isEqualTo(scheduler.pool().used());
    }
}
