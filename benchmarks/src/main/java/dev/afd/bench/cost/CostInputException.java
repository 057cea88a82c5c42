package dev.afd.bench.cost;

/** A model config, hardware file or capacity question the cost model cannot use; the message says what to fix. */
public final class CostInputException extends IllegalArgumentException {
    public CostInputException(String message) {
        super(message);
    }
}
