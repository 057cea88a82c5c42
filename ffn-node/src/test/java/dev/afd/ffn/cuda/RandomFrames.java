package dev.afd.ffn.cuda;

import dev.afd.ffn.core.ExpertRange;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/** Random frames for the CUDA backend's tests: activations, routings and shared-row subsets. */
final class RandomFrames {
    private RandomFrames() {}

    /** Standard normal activations, like post-attention-normed rows. */
    static float[] activations(Random random, int rows, int hidden) {
        float[] x = new float[rows * hidden];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }

    /**
     * Routing of {@code rows × k} slots: each slot is -1 (another node's) with probability {@code otherNode}, else
     * an expert of {@code served}; with {@code skew}, about half the served slots go to the range's first expert,
     * so that it gets a large group (several tensor-core tiles) while others get one or two rows.
     */
    static int[] expertIds(Random random, int rows, int k, ExpertRange served, double otherNode, boolean skew) {
        int[] ids = new int[rows * k];
        for (int s = 0; s < ids.length; s++) {
            if (random.nextDouble() < otherNode) {
                ids[s] = -1;
            } else if (skew && random.nextBoolean()) {
                ids[s] = served.first();
            } else {
                ids[s] = served.first() + random.nextInt(served.size());
            }
        }
        return ids;
    }

    /** Routing weights in [0, 1). */
    static float[] expertWeights(Random random, int slots) {
        float[] w = new float[slots];
        for (int i = 0; i < slots; i++) {
            w[i] = random.nextFloat();
        }
        return w;
    }

    /** A random subset of the rows in random order: sometimes none, sometimes all. */
    static int[] sharedRows(Random random, int rows) {
        List<Integer> all = new ArrayList<>(IntStream.range(0, rows).boxed().toList());
        Collections.shuffle(all, random);
        int keep = switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> rows;
            default -> random.nextInt(rows + 1);
        };
        return all.subList(0, keep).stream().mapToInt(Integer::intValue).toArray();
    }

    /** Largest absolute value, at least 1e-6. */
    static double scale(float[] values) {
        double scale = 1e-6;
        for (float v : values) {
            scale = Math.max(scale, Math.abs(v));
        }
        return scale;
    }
}
