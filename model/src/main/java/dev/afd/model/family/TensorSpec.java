package dev.afd.model.family;

import java.util.Arrays;
import java.util.List;

/**
 * One tensor of a family's checkpoint layout, as the model generator writes it: its name, its shape, and what it is
 * (which decides the distribution of its random values).
 */
public record TensorSpec(String name, Kind kind, long... shape) {
    public TensorSpec {
        shape = shape.clone();
    }

    /** What a tensor is; the generator draws each kind from its own distribution. */
    public enum Kind {
        /** Token embeddings. */
        EMBEDDING,
        /** A plain RMSNorm weight (scales by {@code w}). */
        NORM,
        /** A zero-centred RMSNorm weight (scales by {@code 1 + w}). */
        ZERO_CENTRED_NORM,
        /** A linear layer's weight, [out, in] or stacked [E, out, in]. */
        LINEAR,
        /** A MoE router's weight [E, H]. */
        ROUTER,
        /** A MoE router's per-expert selection bias [E]. */
        ROUTER_BIAS,
        /** A head-wise attention gate's weight [heads, H]. */
        GATE,
        /** The output projection to the vocabulary. */
        LM_HEAD
    }

    /**
     * A SwiGLU MLP's {@code gate_proj}, {@code up_proj} and {@code down_proj} weights under {@code prefix}: [I, H],
     * [I, H], [H, I], or stacked per expert when {@code experts} are given ([E, I, H], [E, I, H], [E, H, I]).
     */
    public static List<TensorSpec> mlp(String prefix, long intermediate, long hidden, long... experts) {
        return List.of(new TensorSpec(prefix + "gate_proj.weight", Kind.LINEAR, concat(experts, intermediate, hidden)),
                new TensorSpec(prefix + "up_proj.weight", Kind.LINEAR, concat(experts, intermediate, hidden)),
                new TensorSpec(prefix + "down_proj.weight", Kind.LINEAR, concat(experts, hidden, intermediate)));
    }

    private static long[] concat(long[] head, long a, long b) {
        long[] s = Arrays.copyOf(head, head.length + 2);
        s[head.length] = a;
        s[head.length + 1] = b;
        return s;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && t.name.equals(name) && t.kind == kind && Arrays.equals(t.shape, shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + kind + " " + Arrays.toString(shape);
    }
}
