package dev.afd.bench.cost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CostCapacityPlannerTest {
    private static final HardwareTable CHIPS = HardwareTable.paper();

    private final ModelSpec step3 = read("step3.json");

    /** The paper's run (§7.3): 4K context, batch 6144, 50 ms TPOT, Hopper on both sides. */
    private CapacityPlanner.Question papers(Chip attention, Chip ffn, double efficiency) {
        return new CapacityPlanner.Question(6144, 0.050, attention, ffn, Precision.FP8, efficiency, 8, 1);
    }

    @Test
    void thePapersSettingGivesThreeMicroBatchesOf2048AndA273MicrosecondLayer() {
        TokenWork work = step3.perToken(4096, 1);
        CapacityPlanner.Plan p = CapacityPlanner.plan(step3, work, papers(CHIPS.chip("H800"), CHIPS.chip("H800"), 1));
        assertThat(p.microBatches()).isEqualTo(3);
        assertThat(p.microBatchSequences()).isEqualTo(2048);
        // 50 ms / (3 x 61): the paper's "about 272 us", which rounds 50/3 ms down to 16.6 ms.
        assertThat(p.layerBudget()).isCloseTo(0.050 / 183, within(1e-12));
        assertThat(p.network()).isLessThan(p.layerBudget() / 2);
        assertThat(p.ruleMinimum()).isCloseTo(2 * (1 + p.network() / p.layerBudget()), within(1e-12));
        assertThat(p.bytesOutPerToken()).isEqualTo(7168);
        assertThat(p.bytesBackPerToken()).isEqualTo(14336);
        assertThat(p.tokensPerSecond()).isCloseTo(122_880, within(1e-6));
    }

    /** Every stage fits the budget on the chips provisioned, and one instance fewer would break a constraint. */
    @Test
    void chipCountsAreTheSmallestWholeInstancesThatFit() {
        for (long context : new long[] {4096, 8192, 32768}) {
            for (double efficiency : new double[] {1, 0.4}) {
                TokenWork work = step3.perToken(context, 1);
                CapacityPlanner.Question q = papers(CHIPS.chip("H20"), CHIPS.chip("H800"), efficiency);
                CapacityPlanner.Plan p = CapacityPlanner.plan(step3, work, q);
                CapacityPlanner.AttentionSide a = p.attention();
                CapacityPlanner.FfnSide f = p.ffn();
                double slack = p.layerBudget() * (1 + 1e-9);
                assertThat(a.stage()).isLessThanOrEqualTo(slack);
                assertThat(f.stage()).isLessThanOrEqualTo(slack);
                assertThat(p.network()).isLessThanOrEqualTo(slack);
                assertThat(a.memoryPerChip()).isLessThanOrEqualTo(q.attentionChip().memoryBytes());
                assertThat(f.memoryPerChip()).isLessThanOrEqualTo(q.ffnChip().memoryBytes());
                assertThat(Math.max(a.chipsForTime(), Math.max(a.chipsForMemory(), a.chipsForNetwork())))
                        .isGreaterThan(a.chips() - 8);
                assertThat(Math.max(Math.max(f.chipsForCompute(), f.chipsForWeightReads()),
                        Math.max(f.chipsForMemory(), f.chipsForNetwork()))).isGreaterThan(f.chips() - 8);
                double usdPerSecond = (a.chips() * 0.8 + f.chips() * 2.0) / 3600;
                assertThat(p.usdPerMillionTokens()).isCloseTo(usdPerSecond / p.tokensPerSecond() * 1e6,
                        within(1e-12));
            }
        }
    }

    /**
     * The attention stage, recomputed from the per-token work: on n chips each runs micro/n sequences, spending
     * max(attention math, KV reads + weight reads) + linear math per layer.
     */
    @Test
    void attentionStageTimeIsTheRooflineOfItsShare() {
        TokenWork work = step3.perToken(8192, 1);
        Chip h20 = CHIPS.chip("H20");
        CapacityPlanner.Plan p = CapacityPlanner.plan(step3, work, papers(h20, CHIPS.chip("H800"), 1));
        double perChip = (double) p.microBatchSequences() / p.attention().chips();
        double flops = 2.96e14;
        double math = perChip * work.attentionFlops() / 61 / flops;
        double reads = perChip * work.kvBytes() / 61 / 4e12 + step3.attentionParams() / 61.0 / 4e12;
        double linear = perChip * work.linearFlops() / 61 / flops;
        assertThat(p.attention().stage()).isCloseTo(Math.max(math, reads) + linear, within(1e-12));
        // FFN: FLOPs of the micro-batch, or reading the experts it touches (all 48 at 2048 tokens), shared over 8.
        double ffnMath = p.microBatchSequences() * work.ffnFlops() / 61 / 1.98e15;
        double ffnReads = step3.ffn().totalParams(7168) / 61.0 / 3.35e12;
        assertThat(p.ffn().stage()).isCloseTo(Math.max(ffnMath, ffnReads) / p.ffn().chips(), within(1e-9));
    }

    @Test
    void halvingTheRatesDoublesTheChipsTheWorkNeeds() {
        TokenWork work = step3.perToken(32768, 1);
        CapacityPlanner.Plan full = CapacityPlanner.plan(step3, work, papers(CHIPS.chip("H20"), CHIPS.chip("H800"), 1));
        CapacityPlanner.Plan half = CapacityPlanner.plan(step3, work,
                papers(CHIPS.chip("H20"), CHIPS.chip("H800"), 0.5));
        assertThat(half.ffn().chipsForCompute()).isCloseTo(2 * full.ffn().chipsForCompute(), within(1e-9));
        assertThat(half.attention().chipsForMemory()).isEqualTo(full.attention().chipsForMemory());
    }

    /** A slow network needs Tc close to the budget, and then the rule asks for a fourth micro-batch. */
    @Test
    void aSlowNetworkTakesMoreMicroBatches() {
        Chip slow = new Chip("slow-nic", 2, 9.89e14, 1.98e15, 3.35e12, 80e9, 2e9);
        CapacityPlanner.Plan p = CapacityPlanner.plan(step3, step3.perToken(4096, 1), papers(slow, slow, 1));
        assertThat(p.microBatches()).isEqualTo(4);
        assertThat(p.network()).isGreaterThan(p.layerBudget() / 2).isLessThanOrEqualTo(p.layerBudget() * (1 + 1e-9));
        assertThat(p.attention().chipsForNetwork()).isGreaterThan(p.attention().chipsForTime());
    }

    @Test
    void impossibleQuestionsSayWhatToChange() {
        TokenWork work = step3.perToken(4096, 1);
        Chip h800 = CHIPS.chip("H800");
        Chip small = new Chip("small", 1, 1e15, null, 3e12, 8e9, 5e10);
        assertThatThrownBy(() -> CapacityPlanner.plan(step3, work, papers(small, h800, 1)))
                .isInstanceOf(CostInputException.class).hasMessageContaining("do not fit in one small");
        assertThatThrownBy(() -> CapacityPlanner.plan(step3, work,
                new CapacityPlanner.Question(6144, 0.002, h800, h800, Precision.FP8, 1, 8, 1)))
                .hasMessageContaining("reading one layer's attention weights takes 51 us")
                .hasMessageContaining("raise --tpot-ms");
        assertThatThrownBy(() -> CapacityPlanner.plan(step3, work,
                new CapacityPlanner.Question(2, 0.050, h800, h800, Precision.FP8, 1, 8, 1)))
                .hasMessageContaining("a batch of 2 cannot fill the 3 micro-batches");
        Chip unknownNic = new Chip("bare", 1, 1e15, null, 3e12, 80e9, null);
        assertThatThrownBy(() -> papers(unknownNic, h800, 1))
                .hasMessageContaining("chip bare has no memory_bytes or nic_bytes_per_second");
        assertThatThrownBy(() -> papers(h800, h800, 1.5)).hasMessageContaining("efficiency must be in (0, 1]");
    }

    private static ModelSpec read(String config) {
        try {
            return ModelConfigs.read(Path.of("configs", config));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
