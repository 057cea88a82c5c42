package dev.afd.bench.cost;

/**
 * What the per-layer exchanges alone cost a model's decode, from a measured overhead per exchange (exchange time
 * minus the ffn-node's compute, as {@code afd bench afd} reports it): against the paper's per-stage budget (a TPOT
 * target over micro-batches × layers: 50 ms / (3 × 61) = 273 µs for Step-3), and as a share of the TPOT if the
 * exchanges overlapped nothing.
 *
 * @param layers decoder layers: one exchange per layer and micro-batch
 * @param microBatches micro-batches in the pipeline
 * @param exchangeMicros measured overhead of one exchange, µs
 * @param tpotSeconds the TPOT target
 */
public record ExchangeBudget(int layers, int microBatches, double exchangeMicros, double tpotSeconds) {
    public ExchangeBudget {
        if (layers < 1 || microBatches < 1 || !(exchangeMicros >= 0) || !(tpotSeconds > 0)) {
            throw new CostInputException("the exchange projection needs layers and micro-batches of at least 1, an"
                    + " exchange time of 0 us or more and a positive TPOT; got " + layers + " layers, "
                    + microBatches + " micro-batches, " + exchangeMicros + " us, " + tpotSeconds + " s");
        }
    }

    /** The time one pipeline stage of one layer and micro-batch may take: TPOT / (micro-batches × layers), µs. */
    public double stageBudgetMicros() {
        return tpotSeconds * 1e6 / ((double) microBatches * layers);
    }

    /** The exchange overhead as a multiple of the stage budget (above 1: the exchanges alone miss the TPOT). */
    public double ofStageBudget() {
        return exchangeMicros / stageBudgetMicros();
    }

    /** Every exchange of a token, one after another: layers × micro-batches × the overhead, seconds. */
    public double serialSeconds() {
        return layers * (double) microBatches * exchangeMicros / 1e6;
    }

    /** {@link #serialSeconds()} as a share of the TPOT target. */
    public double serialShareOfTpot() {
        return serialSeconds() / tpotSeconds;
    }
}
