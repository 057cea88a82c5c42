package dev.afd.ffn.core.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PlacementPlannerTest {
    /** Zipf-like routing over 48 experts, the hottest first: contiguous ranges put the hot ones on one node. */
    static double[] zipf(int experts) {
        double[] load = new double[experts];
        for (int e = 0; e < experts; e++) {
            load[e] = Math.round(100_000 / Math.pow(e + 1, 0.9));
        }
        return load;
    }

    @Test
    void replicatingHotExpertsBalancesASkewedLoad() {
        double[] load = zipf(48);
        Placement before = PlacementPlanner.contiguous(load, 4);
        Placement after = PlacementPlanner.plan(load, 4, 16);
        System.out.printf("skewed load, 48 experts, 4 nodes, capacity 16: max/mean %.3f contiguous, %.3f planned%n",
                before.maxOverMean(), after.maxOverMean());
        assertThat(before.maxOverMean()).isGreaterThan(2.0);
        assertThat(after.maxOverMean()).isLessThan(before.maxOverMean()).isLessThan(1.02);
        assertThat(after.meanLoad()).isCloseTo(Arrays.stream(load).sum() / 4, within(1e-6));
        int[] replicas = after.replicas(48);
        // The hottest expert is on every node; capacity is used in full.
        assertThat(replicas[0]).isEqualTo(4);
        assertThat(Arrays.stream(replicas).sum()).isEqualTo(64);
        assertThat(replicas[47]).isEqualTo(1);
    }

    @Test
    void withoutSpareSlotsEveryExpertIsPlacedOnceAndTheLoadStillSpreads() {
        double[] load = zipf(48);
        Placement p = PlacementPlanner.plan(load, 4, 12);
        assertThat(p.replicas(48)).containsOnly(1);
        assertThat(p.nodes()).allSatisfy(n -> assertThat(n.experts()).hasSize(12));
        assertThat(p.maxOverMean()).isLessThan(PlacementPlanner.contiguous(load, 4).maxOverMean());
    }

    @Test
    void contiguousSplitIsTheEvenSplit() {
        Placement p = PlacementPlanner.contiguous(new double[] {1, 1, 1, 1, 1, 5, 1}, 2);
        assertThat(p.nodes()).extracting(Placement.Node::expertSet).containsExactly("0-2", "3-6");
        assertThat(p.nodes()).extracting(Placement.Node::load).containsExactly(3.0, 8.0);
        assertThat(p.maxOverMean()).isCloseTo(8 / 5.5, within(1e-9));
    }

    @Test
    void plansKeepEveryExpertRespectCapacityAndConserveLoad() {
        Random random = new Random(13);
        for (int trial = 0; trial < 500; trial++) {
            int experts = 1 + random.nextInt(40);
            int nodes = 1 + random.nextInt(9);
            int capacity = (experts + nodes - 1) / nodes + random.nextInt(experts + 2);
            double[] load = new double[experts];
            for (int e = 0; e < experts; e++) {
                load[e] = random.nextInt(4) == 0 ? 0 : Math.floor(Math.pow(random.nextDouble(), 4) * 1e5);
            }
            load[random.nextInt(experts)] += 1;
            Placement p = PlacementPlanner.plan(load, nodes, capacity);
            String what = "trial " + trial + ": " + experts + " experts, " + nodes + " nodes, capacity " + capacity;
            assertThat(p.nodes()).as(what).hasSize(nodes)
                    .allSatisfy(n -> assertThat(n.experts().size()).isLessThanOrEqualTo(capacity));
            assertThat(Arrays.stream(p.replicas(experts)).boxed()).as(what)
                    .allSatisfy(r -> assertThat(r).isBetween(1, nodes));
            assertThat(p.meanLoad() * nodes).as(what).isCloseTo(Arrays.stream(load).sum(), within(1e-6 * 1e5 * 40));
        }
    }

    @Test
    void zeroLoadExpertsAreSpreadAndNotReplicated() {
        double[] load = new double[8];
        load[3] = 100;
        Placement p = PlacementPlanner.plan(load, 2, 5);
        assertThat(p.replicas(8)).containsExactly(1, 1, 1, 2, 1, 1, 1, 1);
        assertThat(p.nodes()).extracting(n -> n.experts().size()).containsExactly(5, 4);
        assertThat(p.maxOverMean()).isEqualTo(1.0);
    }

    @Test
    void impossibleOrEmptyInputsAreClearErrors() {
        assertThatThrownBy(() -> PlacementPlanner.plan(zipf(48), 4, 11))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("4 nodes x 11 experts each cannot hold all 48 experts: raise --capacity to at least 12 or"
                        + " --nodes to at least 5");
        assertThatThrownBy(() -> PlacementPlanner.plan(new double[48], 4, 16))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the load counts no routed tokens for any of the 48 experts: measure after some traffic"
                        + " has gone through the gateway");
        assertThatThrownBy(() -> PlacementPlanner.plan(zipf(8), 0, 16)).hasMessage("--nodes must be at least 1, got 0");
        assertThatThrownBy(() -> PlacementPlanner.plan(zipf(8), 2, 0))
                .hasMessage("--capacity must be at least 1 expert per node, got 0");
    }

    @Test
    void expertSetsAreCompact() {
        assertThat(new Placement.Node(List.of(0, 1, 2, 5, 7, 8), 0).expertSet()).isEqualTo("0-2,5,7-8");
        assertThat(new Placement.Node(List.of(), 0).expertSet()).isEmpty();
    }

    @Test
    void evenSplitMatchesTheStaticLayout() {
        assertThat(EvenSplit.part(48, 4, 1)).hasToString("12-23");
        assertThat(EvenSplit.part(7, 2, 0)).hasToString("0-2");
        assertThat(EvenSplit.part(7, 2, 1)).hasToString("3-6");
        assertThatThrownBy(() -> EvenSplit.part(4, 5, 0))
                .hasMessage("cannot split 4 experts into 5 parts: give between 1 and 4 parts");
    }
}
