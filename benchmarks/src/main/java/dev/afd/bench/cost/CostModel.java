package dev.afd.bench.cost;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Comparator;
import java.util.List;

/**
 * The paper's decoding cost model (§4): every chip runs at full use, so work costs its share of the rent.
 * <pre>
 * attention cost = max(attention FLOPs × USD/FLOP, KV bytes × USD/byte) + linear FLOPs × USD/FLOP
 * FFN cost       = FFN FLOPs × USD/FLOP          (AFD batches the FFN until it is compute-bound)
 * </pre>
 * Communication is assumed hidden behind compute and costs nothing; weight reads are amortised over a large batch
 * and cost nothing. With AFD the attention and FFN sides can run on different chips, so the best deployment pairs
 * the cheapest attention chip with the cheapest FFN chip.
 */
public final class CostModel {
    /** Costs are reported per this many decoded tokens. */
    public static final double TOKENS = 1e6;

    private CostModel() {}

    /**
     * One chip's costs, USD per {@link #TOKENS} decoded tokens.
     *
     * @param rate the compute rate charged, {@code fp8} or {@code bf16}
     * @param usdPerFlop USD per FLOP at full use
     * @param usdPerByte USD per byte of memory read at full use
     * @param roofline FLOPs per byte where the chip turns compute-bound
     * @param attentionCompute the attention product's FLOPs
     * @param kvRead reading the KV cache
     * @param linear the projections around attention
     * @param attention {@code max(attentionCompute, kvRead) + linear}
     * @param attentionBound {@code "memory"} when the KV read is the larger term, else {@code "compute"}
     * @param ffn the FFN's FLOPs
     */
    public record ChipCost(String chip, String rate, double usdPerFlop, double usdPerByte, double roofline,
            double attentionCompute, double kvRead, double linear, double attention, String attentionBound,
            double ffn) {}

    /** The cheapest attention chip with the cheapest FFN chip, USD per {@link #TOKENS} tokens. */
    public record Pairing(String attentionChip, String ffnChip, double attention, double ffn, double total) {
        public boolean disaggregated() {
            return !attentionChip.equals(ffnChip);
        }
    }

    /** A model's per-token work at one context and what it costs on each chip. */
    public record CostTable(TokenWork work, Precision precision, List<ChipCost> chips, Pairing best) {
        public CostTable {
            chips = List.copyOf(chips);
        }

        /** Names the unit of every cost figure in JSON output. */
        @JsonProperty("costs_in")
        public String costsIn() {
            return "USD per 1M decoded tokens";
        }
    }

    public static ChipCost cost(TokenWork w, Chip chip, Precision precision) {
        double perFlop = chip.costPerFlop(precision);
        double perByte = chip.costPerByte();
        double compute = w.attentionFlops() * perFlop * TOKENS;
        double kv = w.kvBytes() * perByte * TOKENS;
        double linear = w.linearFlops() * perFlop * TOKENS;
        return new ChipCost(chip.name(), chip.rateName(precision), perFlop, perByte, chip.roofline(precision),
                compute, kv, linear, Math.max(compute, kv) + linear, kv >= compute ? "memory" : "compute",
                w.ffnFlops() * perFlop * TOKENS);
    }

    public static CostTable table(TokenWork w, List<Chip> chips, Precision precision) {
        if (chips.isEmpty()) {
            throw new CostInputException("no chips to price; name some with --hardware");
        }
        List<ChipCost> costs = chips.stream().map(c -> cost(w, c, precision)).toList();
        ChipCost attention = costs.stream().min(Comparator.comparingDouble(ChipCost::attention)).orElseThrow();
        ChipCost ffn = costs.stream().min(Comparator.comparingDouble(ChipCost::ffn)).orElseThrow();
        Pairing best = new Pairing(attention.chip(), ffn.chip(), attention.attention(), ffn.ffn(),
                attention.attention() + ffn.ffn());
        return new CostTable(w, precision, costs, best);
    }
}
