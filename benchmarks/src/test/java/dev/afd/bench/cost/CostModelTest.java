package dev.afd.bench.cost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The Step-3 paper's figures (arXiv 2507.19427, Tables 2-6 and §4.2), recomputed from the shipped configs and the
 * paper's hardware table. Paper figures are rounded to three significant digits (work, unit costs) or three decimals
 * (USD per 1M tokens); each check allows half a unit of the last printed digit, so any change of what is counted
 * fails it.
 */
class CostModelTest {
    private static final List<Chip> CHIPS = HardwareTable.paper().chips(); // H800, H20, A800, 910B

    /**
     * One model's row in the paper.
     *
     * @param work8k KV bytes, attention, linear and FFN FLOPs per token at 8K (Table 2)
     * @param work32k the same at 32K (Table 3)
     * @param attention8k attention USD per 1M tokens on H800, H20, A800, 910B at 8K (Table 6)
     * @param attention32k the same at 32K
     * @param ffn FFN USD per 1M tokens on the four chips
     * @param best8k cheapest attention chip plus cheapest FFN chip at 8K (§4.2)
     * @param best32k the same at 32K
     */
    record Paper(String config, double[] work8k, double[] work32k, double[] attention8k, double[] attention32k,
            double[] ffn, double best8k, double best32k, double intensity) {
        @Override
        public String toString() {
            return config;
        }

        ModelSpec model() throws IOException {
            return ModelConfigs.read(Path.of("configs", config));
        }
    }

    static Stream<Paper> paper() {
        return Stream.of(
                new Paper("step3.json",
                        new double[] {2.56e8, 3.27e10, 2.07e10, 5.33e10},
                        new double[] {1.02e9, 1.31e11, 2.07e10, 5.33e10},
                        new double[] {0.048, 0.040, 0.040, 0.043},
                        new double[] {0.176, 0.114, 0.120, 0.133},
                        new double[] {0.015, 0.040, 0.036, 0.035}, 0.055, 0.129, 128),
                new Paper("deepseek-v3.json",
                        new double[] {2.88e8, 1.47e11, 2.28e10, 4.84e10},
                        new double[] {1.15e9, 5.89e11, 2.28e10, 4.84e10},
                        new double[] {0.054, 0.128, 0.114, 0.113},
                        new double[] {0.197, 0.460, 0.409, 0.407},
                        new double[] {0.014, 0.036, 0.032, 0.032}, 0.068, 0.211, 512),
                new Paper("qwen3-moe-235b.json",
                        new double[] {7.89e8, 2.52e10, 1.34e10, 2.84e10},
                        new double[] {3.15e9, 1.01e11, 1.34e10, 2.84e10},
                        new double[] {0.135, 0.054, 0.091, 0.101},
                        new double[] {0.527, 0.185, 0.338, 0.376},
                        new double[] {0.008, 0.021, 0.019, 0.019}, 0.062, 0.193, 32));
    }

    @ParameterizedTest
    @MethodSource("paper")
    void perTokenWorkMatchesTables2And3(Paper p) throws IOException {
        ModelSpec model = p.model();
        assertWork(model.perToken(8192, 1), p.work8k());
        assertWork(model.perToken(32768, 1), p.work32k());
        assertThat(model.perToken(8192, 1).attentionIntensity()).isCloseTo(p.intensity(), within(1e-9));
    }

    @ParameterizedTest
    @MethodSource("paper")
    void decodingCostsMatchTable6(Paper p) throws IOException {
        ModelSpec model = p.model();
        CostModel.CostTable at8k = CostModel.table(model.perToken(8192, 1), CHIPS, Precision.FP8);
        CostModel.CostTable at32k = CostModel.table(model.perToken(32768, 1), CHIPS, Precision.FP8);
        for (int i = 0; i < CHIPS.size(); i++) {
            String chip = CHIPS.get(i).name();
            assertThat(at8k.chips().get(i).attention()).as("%s attention at 8K on %s", p, chip)
                    .isCloseTo(p.attention8k()[i], within(halfThousandth()));
            assertThat(at32k.chips().get(i).attention()).as("%s attention at 32K on %s", p, chip)
                    .isCloseTo(p.attention32k()[i], within(halfThousandth()));
            assertThat(at8k.chips().get(i).ffn()).as("%s FFN on %s", p, chip)
                    .isCloseTo(p.ffn()[i], within(halfThousandth()));
        }
        assertThat(at8k.best().total()).as("%s best pairing at 8K", p).isCloseTo(p.best8k(), within(halfThousandth()));
        assertThat(at32k.best().total()).as("%s best pairing at 32K", p)
                .isCloseTo(p.best32k(), within(halfThousandth()));
    }

    @Test
    void bestPairingsAreThePapersChips() throws IOException {
        ModelSpec step3 = ModelConfigs.read(Path.of("configs", "step3.json"));
        ModelSpec deepseek = ModelConfigs.read(Path.of("configs", "deepseek-v3.json"));
        CostModel.Pairing step3At8k = CostModel.table(step3.perToken(8192, 1), CHIPS, Precision.FP8).best();
        CostModel.Pairing deepseekAt8k = CostModel.table(deepseek.perToken(8192, 1), CHIPS, Precision.FP8).best();
        // Step-3 pairs H20 attention with H800 FFN; DeepSeek-V3 is cheapest with H800 on both sides (§4.2).
        assertThat(step3At8k).extracting(CostModel.Pairing::attentionChip, CostModel.Pairing::ffnChip)
                .containsExactly("H20", "H800");
        assertThat(deepseekAt8k.disaggregated()).isFalse();
        assertThat(deepseekAt8k.attentionChip()).isEqualTo("H800");
    }

    /** Table 5 and Table 4's roofline column; FP8 rates on H800 and H20, BF16 on A800 and 910B. */
    @Test
    void unitCostsAndRooflinesMatchTables4And5() {
        double[] perFlop = {2.80e-19, 7.51e-19, 6.68e-19, 6.65e-19};
        double[] perByte = {1.66e-16, 5.56e-17, 1.04e-16, 1.16e-16};
        double[] roofline = {591, 74, 156, 175};
        for (int i = 0; i < CHIPS.size(); i++) {
            Chip c = CHIPS.get(i);
            // One unit of the last digit: the paper prints H800's 2.806e-19 truncated as 2.80e-19.
            assertThat(c.costPerFlop(Precision.FP8)).as(c.name()).isCloseTo(perFlop[i], within(unit(perFlop[i])));
            assertThat(c.costPerByte()).as(c.name()).isCloseTo(perByte[i], within(unit(perByte[i]) / 2));
            assertThat(c.roofline(Precision.FP8)).as(c.name()).isCloseTo(roofline[i], within(0.5));
        }
        assertThat(CHIPS).extracting(c -> c.rateName(Precision.FP8)).containsExactly("fp8", "fp8", "bf16", "bf16");
        assertThat(CHIPS.getFirst().costPerFlop(Precision.BF16)).isCloseTo(2.0 / 3600 / 9.89e14, within(1e-30));
    }

    /** Model cards: Step-3 316B/38B, DeepSeek-V3 671B/37B, Qwen3-235B-A22B. */
    @Test
    void parameterCountsMatchTheModelCards() throws IOException {
        assertParams("step3.json", 316e9, 38e9);
        assertParams("deepseek-v3.json", 671e9, 37e9);
        assertParams("qwen3-moe-235b.json", 235e9, 22e9);
    }

    private static void assertParams(String config, double total, double activated) throws IOException {
        ModelSpec m = ModelConfigs.read(Path.of("configs", config));
        assertThat((double) m.totalParams()).as(config + " total").isCloseTo(total, within(0.5e9));
        assertThat((double) m.activatedParams()).as(config + " activated").isCloseTo(activated, within(1e9));
    }

    private static void assertWork(TokenWork w, double[] paper) {
        double[] ours = {w.kvBytes(), w.attentionFlops(), w.linearFlops(), w.ffnFlops()};
        String[] names = {"KV bytes", "attention FLOPs", "linear FLOPs", "FFN FLOPs"};
        for (int i = 0; i < ours.length; i++) {
            assertThat(ours[i]).as("%s at context %d", names[i], w.context())
                    .isCloseTo(paper[i], within(unit(paper[i]) / 2));
        }
    }

    /** One unit of the third significant digit of {@code printed}. */
    private static double unit(double printed) {
        return Math.pow(10, Math.floor(Math.log10(Math.abs(printed))) - 2) * (1 + 1e-9);
    }

    /** Half a unit of the third decimal, with room for the binary representation of the printed figure. */
    private static double halfThousandth() {
        return 0.0005 * (1 + 1e-6);
    }
}
