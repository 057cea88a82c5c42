package dev.afd.model.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernels give the same bits whichever JIT tier runs them and however many threads share the work. The Vector
 * API leaves some results to the implementation (lane reductions, lane-wise exp), and the interpreter, C1 and C2
 * have given different bits for them; these tests catch any such operation coming back.
 */
class DeterminismTest {
    /** How big the inputs are: small enough to interpret, or big enough to be split across threads. */
    record Sizes(int n, int k, int rows, int normRows, int heads, int headDim, int len, int inter, int mlpRows) {
        static final Sizes SMALL = new Sizes(37, 45, 6, 3, 5, 40, 29, 21, 3);
        static final Sizes SPLIT = new Sizes(96, 203, 40, 2000, 9, 72, 300, 200, 200);
    }

    /**
     * A fixed set of kernel calls on fixed random inputs: matmul over every weight type with one and many rows,
     * softmax, log-softmax, RMS norm, attention over F32 and BF16 caches, and the MLP. Returns all outputs, in order.
     */
    static float[] outputs(Sizes s) {
        Random random = new Random(42);
        List<float[]> parts = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            for (DType t : DType.values()) {
                Tensor w = TestTensors.randomTensor(arena, t, random, s.n(), s.k());
                for (int rows : new int[] {1, s.rows()}) {
                    float[] out = new float[rows * s.n()];
                    MatMul.matmul(w, TestTensors.random(random, rows * s.k()), rows, out);
                    parts.add(out);
                }
            }
            float[] logits = TestTensors.random(random, 1003);
            for (int i = 0; i < logits.length; i++) {
                logits[i] *= 30;
            }
            float[] logs = new float[logits.length];
            Softmax.logSoftmax(logits, 0, logits.length, logs, 0);
            parts.add(logs);
            Softmax.softmax(logits, 0, logits.length);
            parts.add(logits);

            int width = s.k();
            float[] x = TestTensors.random(random, s.normRows() * width);
            RmsNorm.rmsNorm(x, s.normRows(), TestTensors.randomTensor(arena, DType.BF16, random, width), 1e-5f, x);
            parts.add(x);

            for (DType t : new DType[] {DType.F32, DType.BF16}) {
                int blockSize = 16;
                AttentionTest.Cache cache = AttentionTest.Cache.random(arena, t, blockSize,
                        (s.len() + blockSize - 1) / blockSize, s.headDim(), random);
                float[] q = TestTensors.random(random, s.heads() * s.headDim());
                float[] out = new float[q.length];
                Attention.attend(q, 0, s.heads(), s.headDim(), cache, s.len(), 0.3f, out, 0);
                parts.add(out);
            }

            MlpWeights mlp = new MlpWeights(TestTensors.randomTensor(arena, DType.BF16, random, s.inter(), s.k()),
                    TestTensors.randomTensor(arena, DType.BF16, random, s.inter(), s.k()),
                    TestTensors.randomTensor(arena, DType.BF16, random, s.k(), s.inter()));
            float[] mlpOut = new float[s.mlpRows() * s.k()];
            Mlp.forward(mlp, TestTensors.random(random, mlpOut.length), s.mlpRows(), mlpOut);
            parts.add(mlpOut);
        }
        int total = parts.stream().mapToInt(p -> p.length).sum();
        float[] all = new float[total];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    /** Entry point of the interpreter-only JVM: writes {@code outputs(SMALL)} as raw bits to the file args[0]. */
    public static void main(String[] args) throws IOException {
        float[] all = outputs(Sizes.SMALL);
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(Path.of(args[0])))) {
            out.writeInt(all.length);
            for (float f : all) {
                out.writeInt(Float.floatToRawIntBits(f));
            }
        }
    }

    @Test
    void coldAndWarmedUpCallsGiveTheSameBits() {
        float[] cold = outputs(Sizes.SMALL);
        for (int i = 0; i < 3000; i++) {
            outputs(Sizes.SMALL);
        }
        TestTensors.assertSameBits(outputs(Sizes.SMALL), cold, "after warm-up");
    }

    /** The interpreter runs the Vector API's plain Java fallbacks; compiled code runs intrinsics. */
    @Test
    void anInterpretingJvmGivesTheSameBits(@TempDir Path dir) throws Exception {
        for (int i = 0; i < 3000; i++) {
            outputs(Sizes.SMALL);
        }
        float[] compiled = outputs(Sizes.SMALL);
        Path file = dir.resolve("interpreted.bin");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-Xint", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), DeterminismTest.class.getName(), file.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("jvm.log").toFile()).start();
        boolean done = p.waitFor(2, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        assertThat(done).as("interpreting JVM finished").isTrue();
        assertThat(p.exitValue()).as("interpreting JVM exit status; its output: %s",
                Files.readString(dir.resolve("jvm.log"))).isZero();
        float[] interpreted;
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            interpreted = new float[in.readInt()];
            for (int i = 0; i < interpreted.length; i++) {
                interpreted[i] = Float.intBitsToFloat(in.readInt());
            }
        }
        TestTensors.assertSameBits(interpreted, compiled, "interpreted vs compiled");
    }

    @Test
    void oneThreadGivesTheSameBitsAsThePool() {
        float[] pooled = outputs(Sizes.SPLIT);
        float[][] alone = new float[1][];
        Parallel.alone(() -> alone[0] = outputs(Sizes.SPLIT));
        TestTensors.assertSameBits(alone[0], pooled, "one thread vs %d", Parallel.threads());
    }
}
