package dev.afd.model.ffn;

/**
 * The router's choice for a batch of rows: row {@code r} goes to experts {@code experts[r*k .. r*k+k)} with the
 * matching {@code weights}. Produced on the attention side, consumed by whoever computes the experts; in a frame for
 * one ffn-node, an id of -1 marks a slot that another node serves.
 *
 * <p>Ownership: the arrays are not copied; whoever builds the routing hands them over and no longer writes them.
 */
public record Routing(int rows, int k, int[] experts, float[] weights) {
    public Routing {
        if (rows < 0 || k < 0) {
            throw new IllegalArgumentException("routing needs rows and k of at least 0, got " + rows + " and " + k);
        }
        if (experts.length != (long) rows * k || weights.length != (long) rows * k) {
            throw new IllegalArgumentException("routing for " + rows + " rows x " + k + " experts needs "
                    + (long) rows * k + " entries, got " + experts.length + " ids and " + weights.length
                    + " weights");
        }
    }

    /** No routed experts: the routing of a dense layer's rows. */
    public static Routing none(int rows) {
        return new Routing(rows, 0, new int[0], new float[0]);
    }

    /** Whether some slot names an expert. */
    public boolean anyRouted() {
        for (int e : experts) {
            if (e >= 0) {
                return true;
            }
        }
        return false;
    }
}
