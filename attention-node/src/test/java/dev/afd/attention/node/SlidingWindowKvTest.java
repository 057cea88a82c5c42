package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.Engine;
import dev.afd.attention.engine.EngineLoad;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.engine.TokenSink;
import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.kv.KvGroup;
import dev.afd.attention.kv.KvGroupUsage;
import dev.afd.attention.kv.KvPools;
import dev.afd.attention.scheduler.SchedulerConfig;
import dev.afd.attention.spec.SpeculativeConfig;
import dev.afd.model.family.KvLayout;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.Sample;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long sequence on Step-3.5 (sliding window 16, blocks of 4) through the engine: its sliding-window blocks stay flat
 * once it is past the window while its full-attention blocks grow with it, in the engine's load and on the node's
 * {@code /metrics} ({@code afd_kv_blocks{group, state}}). The sequence needs more full-attention blocks than the
 * whole sliding pool holds, and is admitted: it needs only its window there.
 */
class SlidingWindowKvTest {
    private static final int BLOCK = 4;
    private static final int WINDOW = 16;
    private static final int PROMPT = 8;
    private static final int TOKENS = 4 * WINDOW;
    private static final int FULL_BLOCKS = 40;
    /** What {@link KvPools#fromMemory} gives the sliding group for 2 running sequences and 8-token steps. */
    private static final int SLIDING_BLOCKS = 2 * (5 + 2) + 2;

    @TempDir
    Path dir;

    @Test
    void slidingBlocksStayFlatPastTheWindowWhileFullBlocksGrow() throws Exception {
        ModelGenerator.generate(ModelPreset.STEP3P5_TINY.config(false), ModelGenerator.Options.defaults(), dir);
        try (Checkpoint c = Checkpoint.open(dir);
                AttentionNode node = AttentionNode.inProcess(c, 1, AttentionNode.Wire.exact(), options(c))) {
            assertThat(c.config().kvLayout().windows()).contains(WINDOW);
            EngineLoad idle = node.engine().load();
            assertThat(idle.kvGroups()).containsExactly(new KvGroupUsage(KvGroup.FULL, 0, FULL_BLOCKS, 0, FULL_BLOCKS),
                    new KvGroupUsage(KvGroup.SLIDING, 0, SLIDING_BLOCKS, 0, SLIDING_BLOCKS));
            assertThat(Math.ceilDiv(PROMPT + TOKENS - 1, BLOCK)).as("full blocks the sequence needs")
                    .isGreaterThan(SLIDING_BLOCKS);

            BlocksPerToken sink = new BlocksPerToken(node);
            node.engine().submit("long", new GenerationRequest(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, TOKENS,
                    SamplingParams.greedy(), true), sink);
            assertThat(sink.result.get(60, TimeUnit.SECONDS).tokenIds()).hasSize(TOKENS);

            System.out.println("tokens generated | positions cached | full-attention blocks | sliding-window blocks");
            for (int i = 1; i < TOKENS; i++) {
                // Token i + 1 is emitted by the step after the one that left `positions` cached.
                int positions = PROMPT + i - 1;
                int[] blocks = sink.blocks.get(i);
                if (i % 8 == 1 || i == TOKENS - 1) {
                    System.out.printf("%d | %d | %d | %d%n", i, positions, blocks[0], blocks[1]);
                }
                assertThat(blocks[0]).as("full blocks after %d positions", positions)
                        .isEqualTo(Math.ceilDiv(positions, BLOCK));
                assertThat(blocks[1]).as("sliding blocks after %d positions", positions).isEqualTo(
                        Math.ceilDiv(positions, BLOCK) - Math.max(0, positions + 1 - WINDOW) / BLOCK);
            }
            int[] last = sink.blocks.get(TOKENS - 1);
            assertThat(last[0]).as("full blocks grew with the sequence").isEqualTo(18);
            assertThat(last[1]).as("sliding blocks stayed at the window's").isEqualTo(5);
            assertThat(sink.blocks.subList(WINDOW, TOKENS)).as("past the window").allSatisfy(b ->
                    assertThat(b[1]).isBetween(WINDOW / BLOCK, WINDOW / BLOCK + 1));
            assertThat(gauge(sink.lastScrape, "full", "used")).isEqualTo(18);
            assertThat(gauge(sink.lastScrape, "sliding", "used")).isEqualTo(5);
            assertThat(gauge(sink.lastScrape, "sliding", "free")).isEqualTo(SLIDING_BLOCKS - 5);

            EngineLoad done = PrefixCacheExactnessTest.awaitIdle(node);
            assertThat(done.kvGroups()).allSatisfy(g -> assertThat(g.free()).isEqualTo(g.total()));
        }
    }

    /**
     * Step-3.5-tiny's two groups with {@value #FULL_BLOCKS} full-attention blocks: the memory for those plus the
     * sliding group's cap for 2 running sequences and 8-token steps.
     */
    private static EngineOptions options(Checkpoint c) {
        KvLayout layout = c.config().kvLayout();
        List<KvGroup> groups = KvPools.groupsOf(layout);
        long full = BlockPool.bytesPerBlock(groups.get(0).slots().length, layout.headDim(), DType.BF16, BLOCK);
        long sliding = BlockPool.bytesPerBlock(groups.get(1).slots().length, layout.headDim(), DType.BF16, BLOCK);
        return new EngineOptions(DType.BF16, FULL_BLOCKS * full + SLIDING_BLOCKS * sliding, BLOCK,
                new SchedulerConfig(PROMPT, 2), 1, true, SpeculativeConfig.off());
    }

    private static double gauge(String scrape, String group, String state) {
        Matcher m = Pattern.compile("afd_kv_blocks\\{group=\"" + group + "\",model_name=\"[^\"]*\",state=\"" + state
                + "\"} ([0-9.]+)").matcher(scrape);
        assertThat(m.find()).as("afd_kv_blocks{group=%s,state=%s} in\n%s", group, state, scrape).isTrue();
        return Double.parseDouble(m.group(1));
    }

    /**
     * Records, at each token, the blocks of each group in the engine's load: the load the engine published after the
     * step before the one emitting the token. Runs on the engine thread.
     */
    private static final class BlocksPerToken implements TokenSink {
        final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
        final List<int[]> blocks = new ArrayList<>();
        final AttentionNode node;
        String lastScrape;

        BlocksPerToken(AttentionNode node) {
            this.node = node;
        }

        @Override
        public void onToken(Sample sample) {
            Engine engine = node.engine();
            List<KvGroupUsage> groups = engine.load().kvGroups();
            blocks.add(new int[] {groups.get(0).used(), groups.get(1).used()});
            lastScrape = node.metrics().scrape();
        }

        @Override
        public void onFinish(GenerationResult r) {
            result.complete(r);
        }

        @Override
        public void onError(String message) {
            result.completeExceptionally(new IllegalStateException(message));
        }
    }
}
