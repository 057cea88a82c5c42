package dev.afd.ffn.core;

/**
 * The routed experts an ffn-node holds: ids {@code first..last}, inclusive, the same range in every MoE layer.
 *
 * @param first lowest expert id
 * @param last highest expert id
 */
public record ExpertRange(int first, int last) {
    public ExpertRange {
        if (first < 0 || last < first) {
            throw new IllegalArgumentException("expert range " + first + "-" + last
                    + " is empty or negative; write it as FIRST-LAST with 0 <= FIRST <= LAST, e.g. 0-23");
        }
    }

    /** Parses {@code "A-B"} (inclusive) or a single id {@code "A"}. */
    public static ExpertRange parse(String text) {
        String s = text.strip();
        int dash = s.indexOf('-', 1);
        try {
            if (dash < 0) {
                int only = Integer.parseInt(s);
                return new ExpertRange(only, only);
            }
            return new ExpertRange(Integer.parseInt(s.substring(0, dash).strip()),
                    Integer.parseInt(s.substring(dash + 1).strip()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expert range '" + text
                    + "' is not FIRST-LAST with whole numbers, e.g. 0-23", e);
        }
    }

    public boolean contains(int expert) {
        return expert >= first && expert <= last;
    }

    public int size() {
        return last - first + 1;
    }

    /**
     * Checks the range against a model's routed experts.
     *
     * @throws IllegalArgumentException naming the range and the model's experts
     */
    public ExpertRange requireWithin(int numExperts) {
        if (numExperts == 0) {
            throw new IllegalArgumentException("experts " + this + " were asked for, but the model has no routed"
                    + " experts");
        }
        if (last >= numExperts) {
            throw new IllegalArgumentException("experts " + this + " exceed the model's " + numExperts
                    + " routed experts; pick a range within 0-" + (numExperts - 1));
        }
        return this;
    }

    @Override
    public String toString() {
        return first == last ? Integer.toString(first) : first + "-" + last;
    }
}
