package dev.afd.model.kernels;

import static dev.afd.model.kernels.Widen.F;
import static dev.afd.model.kernels.Widen.LANES;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class LanesTest {
    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());

    /** The documented order, in scalar code: lane j plus lane j+half, halving down to one lane. */
    private static float tree(float[] lanes) {
        float[] v = lanes.clone();
        for (int half = v.length / 2; half > 0; half /= 2) {
            for (int j = 0; j < half; j++) {
                v[j] = v[j] + v[j + half];
            }
        }
        return v[0];
    }

    private static double tree(double[] lanes) {
        double[] v = lanes.clone();
        for (int half = v.length / 2; half > 0; half /= 2) {
            for (int j = 0; j < half; j++) {
                v[j] = v[j] + v[j + half];
            }
        }
        return v[0];
    }

    /** Values of very different magnitudes, so that any other order of addition gives other bits. */
    private static float[] lanes(Random random) {
        float[] v = new float[LANES];
        for (int j = 0; j < LANES; j++) {
            v[j] = (random.nextFloat() - 0.5f) * (float) Math.pow(10, random.nextInt(9) - 4);
        }
        return v;
    }

    @Test
    void sumAddsInTheDocumentedTreeOrder() {
        Random random = new Random(1);
        for (int round = 0; round < 200; round++) {
            float[] v = lanes(random);
            assertThat(Lanes.sum(FloatVector.fromArray(F, v, 0))).isEqualTo(tree(v));
            double[] d = new double[D.length()];
            for (int j = 0; j < d.length; j++) {
                d[j] = v[j] * 1e-3 + v[LANES - 1 - j];
            }
            assertThat(Lanes.sum(DoubleVector.fromArray(D, d, 0))).isEqualTo(tree(d));
        }
    }

    @Test
    void sumsOfManyVectorsMatchTheSingleVectorTreeBitForBit() {
        Random random = new Random(2);
        for (int count = 1; count <= 2 * LANES + 3; count++) {
            float[] p = new float[count * LANES];
            float[] expected = new float[count];
            for (int j = 0; j < count; j++) {
                float[] v = lanes(random);
                System.arraycopy(v, 0, p, j * LANES, LANES);
                expected[j] = tree(v);
            }
            Lanes.sums(p, count);
            TestTensors.assertSameBits(java.util.Arrays.copyOf(p, count), expected, "%d vectors", count);
        }
    }

    @Test
    void maxIsTheLargestLaneAndPropagatesNaN() {
        Random random = new Random(3);
        float[] v = lanes(random);
        float expected = Float.NEGATIVE_INFINITY;
        for (float f : v) {
            expected = Math.max(expected, f);
        }
        assertThat(Lanes.max(FloatVector.fromArray(F, v, 0))).isEqualTo(expected);
        v[LANES / 2 + 1] = Float.NaN;
        assertThat(Lanes.max(FloatVector.fromArray(F, v, 0))).isNaN();
    }

    @Test
    void expIsWithinTwoUlpsOfMathExp() {
        float[] x = new float[LANES];
        float[] e = new float[LANES];
        for (float from = -103f; from < 88.7f; from += 0.0137f * LANES) {
            for (int j = 0; j < LANES; j++) {
                x[j] = from + 0.0137f * j;
            }
            Lanes.exp(FloatVector.fromArray(F, x, 0)).intoArray(e, 0);
            for (int j = 0; j < LANES; j++) {
                float expected = (float) Math.exp(x[j]);
                assertThat(e[j]).as("exp(%s)", x[j]).isCloseTo(expected,
                        org.assertj.core.data.Offset.offset(2 * Math.ulp(expected)));
            }
        }
    }

    @Test
    void expHandlesTheEdges() {
        float[] x = {0f, -0f, 1f, Float.NEGATIVE_INFINITY, -200f, Float.POSITIVE_INFINITY, 89f, Float.NaN};
        float[] in = java.util.Arrays.copyOf(x, Math.max(LANES, x.length));
        float[] e = new float[in.length];
        for (int at = 0; at < x.length; at += LANES) {
            Lanes.exp(FloatVector.fromArray(F, in, at)).intoArray(e, at);
        }
        assertThat(e[0]).isEqualTo(1f);
        assertThat(e[1]).isEqualTo(1f);
        assertThat(e[2]).isCloseTo((float) Math.E, org.assertj.core.data.Offset.offset(Math.ulp((float) Math.E)));
        assertThat(e[3]).isZero();
        assertThat(e[4]).isZero();
        assertThat(e[5]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(e[6]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(e[7]).isNaN();
    }
}
