package dev.afd.model.step3;

/**
 * The router's choice for a batch of rows: row {@code r} goes to experts {@code experts[r*k .. r*k+k)} with the
 * matching {@code weights}. Produced on the attention side, consumed by whoever computes the experts.
 */
public record Routing(int rows, int k, int[] experts, float[] weights) {
    public Routing {
        if (experts.length != rows * k || weights.length != rows * k) {
            throw new IllegalArgumentException("routing for " + rows + " rows x " + k + " experts needs "
                    + rows * k + " entries, got " + experts.length + " ids and " + weights.length + " weights");
        }
    }
}
