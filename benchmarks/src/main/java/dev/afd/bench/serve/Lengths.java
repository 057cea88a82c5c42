package dev.afd.bench.serve;

import java.util.SplittableRandom;

/**
 * Token lengths with vLLM's {@code --random-range-ratio} meaning: each request's input length is drawn uniformly from
 * {@code [floor(inputLen * (1 - r)), ceil(inputLen * (1 + r))]} and its output length likewise, bounds included; 0
 * makes every request exactly {@code inputLen} and {@code outputLen} long. Lengths are at least 1.
 *
 * @param rangeRatio {@code r}, in {@code [0, 1)} as vLLM requires
 */
public record Lengths(int inputLen, int outputLen, double rangeRatio) {
    public Lengths {
        if (inputLen < 1 || outputLen < 1) {
            throw new IllegalArgumentException("--random-input-len and --random-output-len must be >= 1, got "
                    + inputLen + " and " + outputLen);
        }
        if (!(rangeRatio >= 0 && rangeRatio < 1)) {
            throw new IllegalArgumentException("--random-range-ratio must be in [0, 1), got " + rangeRatio);
        }
    }

    /** Every request exactly this long. */
    public static Lengths fixed(int inputLen, int outputLen) {
        return new Lengths(inputLen, outputLen, 0);
    }

    public int minInput() {
        return low(inputLen);
    }

    public int maxInput() {
        return high(inputLen);
    }

    public int minOutput() {
        return low(outputLen);
    }

    public int maxOutput() {
        return high(outputLen);
    }

    int input(SplittableRandom random) {
        return random.nextInt(minInput(), maxInput() + 1);
    }

    int output(SplittableRandom random) {
        return random.nextInt(minOutput(), maxOutput() + 1);
    }

    /** For the results' environment, e.g. {@code 128} or {@code 96-160}. */
    static String range(int min, int max) {
        return min == max ? Integer.toString(min) : min + "-" + max;
    }

    private int low(int len) {
        return Math.max(1, (int) Math.floor(len * (1 - rangeRatio)));
    }

    private int high(int len) {
        return (int) Math.ceil(len * (1 + rangeRatio));
    }
}
