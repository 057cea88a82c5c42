package dev.afd.bench.cost;

import java.util.Locale;

/** Which compute rate of a chip the cost model charges FLOPs at. */
public enum Precision {
    /**
     * The FP8 rate where the chip has one, else the BF16 rate. This is the paper's setting: FP8 GEMMs on H800 and H20,
     * and on chips without FP8 (A800, 910B) 8-bit integer GEMMs priced at the BF16 rate.
     */
    FP8,
    /** The BF16 rate on every chip. */
    BF16;

    public static Precision parse(String text) {
        for (Precision p : values()) {
            if (p.name().equalsIgnoreCase(text.strip())) {
                return p;
            }
        }
        throw new CostInputException("unknown precision '" + text + "'; use fp8 or bf16");
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
