package dev.afd.bench.serve;

import java.util.SplittableRandom;

/**
 * When each request of an open-loop run is sent. Inter-arrival times are gamma distributed with shape
 * {@code burstiness} and mean {@code 1 / rate} (vLLM's {@code --burstiness}): shape 1 is a Poisson process; below 1
 * arrivals come in bursts, above 1 they are more evenly spaced (the coefficient of variation is
 * {@code 1 / sqrt(burstiness)}). An infinite rate sends everything at once.
 */
public final class Arrivals {
    private Arrivals() {}

    /** Send times of {@code count} requests, in nanoseconds after the run starts; the first is at 0. */
    public static long[] offsetsNanos(int count, double rate, double burstiness, long seed) {
        if (!(rate > 0)) {
            throw new IllegalArgumentException("--request-rate must be > 0 (or inf), got " + rate);
        }
        if (!(burstiness > 0) || Double.isInfinite(burstiness)) {
            throw new IllegalArgumentException("--burstiness must be a positive number (1 = Poisson), got "
                    + burstiness);
        }
        long[] offsets = new long[count];
        if (Double.isInfinite(rate)) {
            return offsets;
        }
        SplittableRandom random = new SplittableRandom(seed);
        double scale = 1 / (rate * burstiness);
        double t = 0;
        for (int i = 1; i < count; i++) {
            t += gamma(burstiness, random) * scale;
            offsets[i] = Math.round(t * 1e9);
        }
        return offsets;
    }

    /** A gamma(shape, 1) sample: Marsaglia and Tsang's method, boosted by {@code U^(1/shape)} for shape < 1. */
    static double gamma(double shape, SplittableRandom random) {
        if (shape < 1) {
            return gamma(shape + 1, random) * Math.pow(random.nextDouble(), 1 / shape);
        }
        double d = shape - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = normal(random);
            double v = 1 + c * x;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = random.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
                return d * v;
            }
        }
    }

    private static double normal(SplittableRandom random) {
        // Box-Muller; one of the pair is enough here.
        double u = 1 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }
}
