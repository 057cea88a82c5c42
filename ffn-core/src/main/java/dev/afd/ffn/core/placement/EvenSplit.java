package dev.afd.ffn.core.placement;

import dev.afd.ffn.core.ExpertRange;

/**
 * The contiguous split every static layout uses: part {@code p} of {@code P} over {@code E} experts is
 * {@code [p*E/P, (p+1)*E/P - 1]}, so part sizes differ by at most one and the parts cover every expert once.
 */
public final class EvenSplit {
    private EvenSplit() {
    }

    /** The first expert of part {@code part}; {@code start(experts, parts, parts) == experts}. */
    public static int start(int experts, int parts, int part) {
        return (int) ((long) part * experts / parts);
    }

    /**
     * Part {@code part} of {@code parts} as a range.
     *
     * @throws IllegalArgumentException when there are more parts than experts (some part would be empty)
     */
    public static ExpertRange part(int experts, int parts, int part) {
        if (parts < 1 || parts > experts) {
            throw new IllegalArgumentException("cannot split " + experts + " experts into " + parts
                    + " parts: give between 1 and " + experts + " parts");
        }
        if (part < 0 || part >= parts) {
            throw new IllegalArgumentException("part " + part + " is not one of 0.." + (parts - 1));
        }
        return new ExpertRange(start(experts, parts, part), start(experts, parts, part + 1) - 1);
    }
}
