package dev.afd.attention.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.kv.KvGroup;
import dev.afd.attention.kv.KvGroupUsage;
import dev.afd.model.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SchedulerTest {
    private final FakeModel model = new FakeModel();
    private final Map<String, int[]> prompts = new HashMap<>();
    private final List<BlockPool> pools = new ArrayList<>();

    @AfterEach
    void closePools() {
        pools.forEach(BlockPool::close);
    }

    private Scheduler scheduler(int blocks, int blockSize, int maxBatchedTokens, int maxRunning) {
        BlockPool pool = new BlockPool(blocks, 2, 4, DType.F32, blockSize);
        pools.add(pool);
        return new Scheduler(pool, new SchedulerConfig(maxBatchedTokens, maxRunning));
    }

    private ScheduledSequence add(Scheduler scheduler, String id, int promptLength, int maxTokens) {
        int[] prompt = new SplittableRandom(id.hashCode()).ints(promptLength, 1, FakeModel.VOCAB).toArray();
        ScheduledSequence s = scheduler.add(id, prompt, maxTokens);
        prompts.put(id, prompt);
        return s;
    }

    /** Schedules, runs and completes one step, then finishes the sequences that are done. */
    private Step step(Scheduler scheduler) {
        Step step = scheduler.schedule();
        if (!step.isEmpty()) {
            run(scheduler, step);
        }
        return step;
    }

    /** Runs and completes a scheduled step, then finishes the sequences that are done. */
    private void run(Scheduler scheduler, Step step) {
        scheduler.complete(step, model.run(step));
        for (Step.Entry e : step.entries()) {
            if (e.sequence().state() == SequenceState.RUNNING && FakeModel.done(e.sequence())) {
                assertThat(e.sequence().generated()).as("tokens of %s", e.sequence().id())
                        .containsExactly(FakeModel.expected(prompts.get(e.sequence().id()),
                                e.sequence().maxTokens()));
                scheduler.finish(e.sequence());
            }
        }
    }

    private void drain(Scheduler scheduler) {
        for (int i = 0; scheduler.hasWork(); i++) {
            assertThat(i).as("steps before the scheduler drains").isLessThan(10_000);
            assertThat(step(scheduler).isEmpty()).as("a step with work waiting").isFalse();
        }
        assertThat(scheduler.pools().pool(0).used()).isZero();
    }

    @Test
    void stepsStayWithinTheTokenBudgetAndTheRunningCap() {
        Scheduler scheduler = scheduler(256, 16, 32, 4);
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 12; i++) {
            add(scheduler, "r" + i, random.nextInt(1, 80), random.nextInt(1, 20));
        }
        int steps = 0;
        while (scheduler.hasWork()) {
            Step step = step(scheduler);
            steps++;
            assertThat(step.tokenCount()).isBetween(1, 32);
            Set<ScheduledSequence> seen = new HashSet<>();
            for (Step.Entry e : step.entries()) {
                assertThat(seen.add(e.sequence())).as("%s scheduled once", e.sequence().id()).isTrue();
            }
            assertThat(seen).hasSizeLessThanOrEqualTo(4);
            assertThat(scheduler.stats().running()).isLessThanOrEqualTo(4);
        }
        assertThat(steps).isGreaterThan(12);
        assertThat(scheduler.pools().pool(0).used()).isZero();
    }

    @Test
    void aLongPromptIsChunkedAroundARunningDecode() {
        Scheduler scheduler = scheduler(64, 16, 16, 8);
        ScheduledSequence a = add(scheduler, "a", 4, 50);
        step(scheduler);
        assertThat(a.generatedCount()).isEqualTo(1);

        ScheduledSequence b = add(scheduler, "b", 100, 3);
        for (int i = 0; i < 7; i++) {
            Step step = step(scheduler);
            assertThat(a.generatedCount()).as("a decodes in every step while b prefills").isEqualTo(2 + i);
            assertThat(step.entries()).hasSize(2);
            Step.Entry decode = step.entries().get(0);
            Step.Entry chunk = step.entries().get(1);
            assertThat(decode.sequence()).isSameAs(a);
            assertThat(decode.tokens()).hasSize(1);
            assertThat(decode.wantLogits()).isTrue();
            assertThat(chunk.sequence()).isSameAs(b);
            assertThat(chunk.start()).isEqualTo(15 * i);
            assertThat(chunk.tokens()).hasSize(i < 6 ? 15 : 10);
            assertThat(chunk.wantLogits()).as("only the last chunk samples").isEqualTo(i == 6);
        }
        assertThat(b.generatedCount()).isEqualTo(1);
        drain(scheduler);
    }

    @Test
    void admissionIsFirstInFirstOutEvenWhenALaterRequestWouldFit() {
        // 5 blocks of 4 positions.
        Scheduler scheduler = scheduler(5, 4, 64, 8);
        ScheduledSequence a = add(scheduler, "a", 12, 2);
        ScheduledSequence b = add(scheduler, "b", 9, 2);
        ScheduledSequence c = add(scheduler, "c", 1, 2);

        Step first = step(scheduler);
        assertThat(first.entries()).extracting(Step.Entry::sequence).containsExactly(a);
        assertThat(scheduler.waiting()).as("c waits behind b, which needs 3 of the 2 free blocks")
                .containsExactly(b, c);
        assertThat(scheduler.stats().blocksUsed()).isEqualTo(3);

        Step second = step(scheduler);
        assertThat(second.entries()).extracting(Step.Entry::sequence).containsExactly(a);
        assertThat(a.state()).isEqualTo(SequenceState.FINISHED);

        Step third = step(scheduler);
        assertThat(third.entries()).extracting(Step.Entry::sequence).containsExactly(b, c);
        drain(scheduler);
    }

    @Test
    void theRunningCapDefersAdmissionInArrivalOrder() {
        Scheduler scheduler = scheduler(64, 4, 64, 2);
        List<ScheduledSequence> all = new ArrayList<>();
        for (String id : List.of("a", "b", "c", "d")) {
            all.add(add(scheduler, id, 3, 2));
        }
        assertThat(step(scheduler).entries()).extracting(Step.Entry::sequence).containsExactly(all.get(0), all.get(1));
        step(scheduler);
        assertThat(step(scheduler).entries()).extracting(Step.Entry::sequence).containsExactly(all.get(2), all.get(3));
        drain(scheduler);
    }

    @Test
    void runningOutOfBlocksPreemptsTheNewestSequenceWhichRecomputesTheSameTokens() {
        // 4 blocks of 4 positions; each sequence needs up to 15 positions.
        Scheduler scheduler = scheduler(4, 4, 64, 8);
        ScheduledSequence a = add(scheduler, "a", 6, 10);
        ScheduledSequence b = add(scheduler, "b", 6, 10);
        for (int i = 0; i < 3; i++) {
            assertThat(step(scheduler).entries()).hasSize(2);
        }
        assertThat(scheduler.stats().blocksFree()).isZero();
        assertThat(b.generatedCount()).isEqualTo(3);

        Step preempting = step(scheduler);
        assertThat(preempting.entries()).extracting(Step.Entry::sequence).containsExactly(a);
        assertThat(scheduler.stats().preemptions()).isEqualTo(1);
        assertThat(b.state()).isEqualTo(SequenceState.WAITING);
        assertThat(scheduler.waiting()).first().isSameAs(b);
        assertThat(b.computed()).isZero();
        assertThat(b.kv().table(0).blocks()).isEmpty();
        assertThat(b.generatedCount()).as("generated tokens are kept").isEqualTo(3);
        assertThat(b.preemptions()).isEqualTo(1);

        // a runs alone to its end; then b re-prefills its prompt and its three tokens in one chunk and samples.
        while (a.state() == SequenceState.RUNNING) {
            assertThat(step(scheduler).entries()).extracting(Step.Entry::sequence).containsExactly(a);
        }
        Step recompute = step(scheduler);
        assertThat(recompute.entries()).singleElement().satisfies(e -> {
            assertThat(e.sequence()).isSameAs(b);
            assertThat(e.start()).isZero();
            assertThat(e.tokens()).hasSize(9);
            assertThat(e.wantLogits()).isTrue();
        });
        assertThat(b.generatedCount()).isEqualTo(4);
        drain(scheduler);
        assertThat(b.state()).isEqualTo(SequenceState.FINISHED);
    }

    @Test
    void abortRemovesWaitingAndRunningSequencesAndFreesTheirBlocks() {
        Scheduler scheduler = scheduler(16, 4, 64, 2);
        ScheduledSequence a = add(scheduler, "a", 10, 20);
        ScheduledSequence b = add(scheduler, "b", 5, 20);
        ScheduledSequence c = add(scheduler, "c", 5, 20);
        step(scheduler);
        assertThat(scheduler.stats()).isEqualTo(new SchedulerStats(1, 2, 5, 11, 0, 0, 0, 0, 0,
                List.of(new KvGroupUsage(KvGroup.FULL, 5, 11, 0, 16))));

        assertThat(scheduler.abort(a)).isTrue();
        assertThat(a.state()).isEqualTo(SequenceState.ABORTED);
        assertThat(scheduler.stats().blocksUsed()).isEqualTo(2);
        assertThat(scheduler.abort(a)).as("already gone").isFalse();
        assertThat(scheduler.abort(c)).isTrue();
        assertThat(c.state()).isEqualTo(SequenceState.ABORTED);
        assertThat(scheduler.stats()).isEqualTo(new SchedulerStats(0, 1, 2, 14, 0, 0, 0, 0, 0,
                List.of(new KvGroupUsage(KvGroup.FULL, 2, 14, 0, 16))));

        // Aborted while its step runs: the step completes without it.
        Step inFlight = scheduler.schedule();
        assertThat(inFlight.entries()).extracting(Step.Entry::sequence).containsExactly(b);
        int[][] sampled = model.run(inFlight);
        assertThat(scheduler.abort(b)).isTrue();
        scheduler.complete(inFlight, sampled);
        assertThat(b.generatedCount()).isEqualTo(1);
        assertThat(scheduler.hasWork()).isFalse();
        assertThat(scheduler.pools().pool(0).used()).isZero();
        assertThatThrownBy(() -> scheduler.finish(b)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not live");
    }

    @Test
    void requestsThatCanNeverFitAreRejectedOnArrival() {
        Scheduler scheduler = scheduler(4, 4, 64, 8);
        add(scheduler, "fits", 10, 7);
        assertThatThrownBy(() -> add(scheduler, "too-long", 10, 8))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too-long").hasMessageContaining("needs 5 KV blocks")
                .hasMessageContaining("holds 4");
        assertThatThrownBy(() -> scheduler.requireFits("too-long", 10, 8)).as("the same check, before queueing")
                .hasMessageContaining("needs 5 KV blocks").hasMessageContaining("--kv-memory-mb");
        assertThatThrownBy(() -> scheduler.add("empty", new int[0], 1)).hasMessageContaining("empty prompt");
        assertThatThrownBy(() -> scheduler.add("none", new int[] {1}, 0)).hasMessageContaining("max_tokens");
        assertThat(scheduler.stats().waiting()).isEqualTo(1);
        drain(scheduler);
    }

    @Test
    void draftsAreFedAfterTheLastTokenAndRejectedOnesGiveTheirBlocksBack() {
        Scheduler scheduler = scheduler(8, 4, 64, 4);
        ScheduledSequence a = add(scheduler, "a", 6, 20);
        step(scheduler);
        assertThat(a.remaining()).isEqualTo(1);
        assertThat(a.kv().blockCount()).isEqualTo(2);

        // Five wrong drafts: positions 6-11 reach into a third block, which only rejected drafts use.
        scheduler.propose(a, new int[] {1, 2, 3, 4, 5});
        Step verify = scheduler.schedule();
        Step.Entry e = verify.entries().getFirst();
        assertThat(e.tokens()).containsExactly(a.lastGenerated(), 1, 2, 3, 4, 5);
        assertThat(e.drafts()).isEqualTo(5);
        assertThat(e.logitRows()).isEqualTo(6);
        assertThat(a.kv().blockCount()).isEqualTo(3);
        int[][] emitted = model.run(verify);
        assertThat(emitted[0]).as("the first draft is wrong: only the correction").hasSize(1);
        scheduler.complete(verify, emitted);
        assertThat(a.computed()).isEqualTo(7);
        assertThat(a.drafts()).as("used once").isEmpty();
        assertThat(a.kv().blockCount()).as("the block of rejected positions only went back").isEqualTo(2);
        assertThat(scheduler.pools().pool(0).used()).isEqualTo(2);

        // The true continuation, as drafts: all accepted, plus the bonus token.
        int[] expected = FakeModel.expected(prompts.get("a"), 20);
        scheduler.propose(a, Arrays.copyOfRange(expected, 2, 5));
        Step right = scheduler.schedule();
        int[][] accepted = model.run(right);
        assertThat(accepted[0]).containsExactly(Arrays.copyOfRange(expected, 2, 6));
        scheduler.complete(right, accepted);
        assertThat(a.computed()).isEqualTo(11);
        assertThat(a.generated()).containsExactly(Arrays.copyOfRange(expected, 0, 6));
        drain(scheduler);
    }

    @Test
    void draftsAreCutToTheBudget() {
        Scheduler scheduler = scheduler(3, 4, 3, 4);
        ScheduledSequence a = add(scheduler, "a", 3, 8);
        step(scheduler);
        scheduler.propose(a, new int[] {1, 2, 3, 4});
        Step step = scheduler.schedule();
        assertThat(step.entries().getFirst().drafts()).as("a budget of 3 tokens: the last one and 2 drafts")
                .isEqualTo(2);
        run(scheduler, step);
        drain(scheduler);
    }

    @Test
    void draftsTakeOnlyTheRoomLeftAndNeverPreempt() {
        Scheduler scheduler = scheduler(2, 4, 64, 4);
        ScheduledSequence a = add(scheduler, "a", 1, 6);
        ScheduledSequence b = add(scheduler, "b", 3, 2);
        step(scheduler);
        assertThat(scheduler.pools().pool(0).available()).as("a and b hold a block each").isZero();
        scheduler.propose(a, new int[] {1, 2, 3, 4});
        Step step = scheduler.schedule();
        assertThat(step.entries()).extracting(Step.Entry::sequence).containsExactly(a, b);
        assertThat(step.entries().getFirst().drafts()).as("positions 1-3 of a's block: its token and 2 drafts")
                .isEqualTo(2);
        assertThat(scheduler.stats().preemptions()).isZero();
        run(scheduler, step);
        drain(scheduler);
    }

    @Test
    void onlyARunningDecodingSequenceTakesDraftsAndNoMoreThanMaxTokensAllow() {
        Scheduler scheduler = scheduler(8, 4, 64, 4);
        ScheduledSequence a = add(scheduler, "a", 6, 3);
        assertThatThrownBy(() -> scheduler.propose(a, new int[] {1})).hasMessageContaining("not decoding");
        step(scheduler);
        assertThatThrownBy(() -> scheduler.propose(a, new int[] {1, 2})).hasMessageContaining("cannot verify 2");
        scheduler.propose(a, new int[] {1});
        drain(scheduler);
    }

    @Test
    void stepsMustBeReportedInOrder() {
        Scheduler scheduler = scheduler(16, 4, 64, 8);
        ScheduledSequence a = add(scheduler, "a", 5, 1);
        Step step = scheduler.schedule();
        assertThatThrownBy(scheduler::schedule).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("neither completed nor cancelled");
        assertThatThrownBy(() -> scheduler.complete(step, new int[2][1])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> scheduler.complete(step, new int[][] {{}})).hasMessageContaining("got 0");
        assertThatThrownBy(() -> scheduler.complete(step, new int[][] {{7, 8}})).as("no drafts: one token")
                .hasMessageContaining("got 2");

        scheduler.cancel(step);
        assertThatThrownBy(() -> scheduler.complete(step, new int[1][1])).isInstanceOf(IllegalStateException.class);
        assertThat(a.computed()).isZero();
        Step again = scheduler.schedule();
        assertThat(again.entries()).singleElement().satisfies(e -> assertThat(e.start()).isZero());
        scheduler.complete(again, new int[][] {{7}});
        assertThat(a.generated()).containsExactly(7);
        assertThatThrownBy(scheduler::schedule).as("a has its one token and must be finished")
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not finished");
        scheduler.finish(a);
        assertThat(scheduler.schedule().isEmpty()).isTrue();
        assertThat(scheduler.schedule().isEmpty()).as("an empty step needs no report").isTrue();
    }
}
