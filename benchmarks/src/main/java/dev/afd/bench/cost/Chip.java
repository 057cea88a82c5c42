package dev.afd.bench.cost;

/**
 * One accelerator card: its rental price and peak rates.
 *
 * @param name how tables and options name it, e.g. {@code H800}
 * @param pricePerHour USD per card per hour
 * @param bf16Flops dense BF16 FLOP/s
 * @param fp8Flops dense FP8 FLOP/s, or null when the chip has no FP8
 * @param memoryBandwidth memory bytes per second
 * @param memoryBytes memory capacity in bytes, or null when unknown (capacity plans then cannot check fit)
 * @param nicBandwidth network bytes per second per card (one direction), or null when unknown (capacity plans
 *     then cannot size the network)
 */
public record Chip(String name, double pricePerHour, double bf16Flops, Double fp8Flops, double memoryBandwidth,
        Double memoryBytes, Double nicBandwidth) {

    public Chip {
        if (name == null || name.isBlank()) {
            throw new CostInputException("a chip needs a name");
        }
        positive(name, "price_per_hour", pricePerHour);
        positive(name, "bf16_flops", bf16Flops);
        positive(name, "memory_bytes_per_second", memoryBandwidth);
        if (fp8Flops != null) {
            positive(name, "fp8_flops", fp8Flops);
        }
        if (memoryBytes != null) {
            positive(name, "memory_bytes", memoryBytes);
        }
        if (nicBandwidth != null) {
            positive(name, "nic_bytes_per_second", nicBandwidth);
        }
    }

    /** The FLOP/s FLOPs are charged at under {@code precision}. */
    public double flops(Precision precision) {
        return precision == Precision.FP8 && fp8Flops != null ? fp8Flops : bf16Flops;
    }

    /** {@code "fp8"} or {@code "bf16"}: the rate {@link #flops} picks. */
    public String rateName(Precision precision) {
        return precision == Precision.FP8 && fp8Flops != null ? "fp8" : "bf16";
    }

    /**
     * USD per FLOP at full use. The paper spreads a month's rent over a month of peak FLOPs; the month cancels, so
     * this is the hourly price over an hour of peak FLOPs.
     */
    public double costPerFlop(Precision precision) {
        return pricePerHour / 3600 / flops(precision);
    }

    /** USD per byte of memory read at full use, counted the same way as {@link #costPerFlop}. */
    public double costPerByte() {
        return pricePerHour / 3600 / memoryBandwidth;
    }

    /** FLOPs per byte at which the chip turns from memory-bound to compute-bound. */
    public double roofline(Precision precision) {
        return flops(precision) / memoryBandwidth;
    }

    private static void positive(String chip, String key, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new CostInputException("chip " + chip + ": " + key + " must be a positive number, got " + value);
        }
    }
}
