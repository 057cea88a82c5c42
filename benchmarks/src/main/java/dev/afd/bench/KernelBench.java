package dev.afd.bench;

import dev.afd.model.kernels.MatMul;
import dev.afd.model.kernels.Parallel;
import dev.afd.model.tensor.DType;
import dev.afd.model.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;

/**
 * Measures the matmul kernels against the machine: one-row (decode) matmul in GB/s of bf16 weights read from
 * memory, many-row matmul in GFLOP/s, next to the machine's memory read bandwidth and numpy's float32 sgemm on the
 * same shapes (numpy runs in a {@code python3} subprocess; when it is missing the report says so).
 *
 * <p>Run from the repository root (about 35 s):
 * <pre>
 * ./mvnw -B -q -o -pl benchmarks -am compile
 * java --add-modules jdk.incubator.vector -cp model/target/classes:benchmarks/target/classes dev.afd.bench.KernelBench
 * </pre>
 * The machine should be otherwise idle: the report prints the load average it started under.
 */
public final class KernelBench {
    /** A linear layer's weight shape, PyTorch layout [out, in]. */
    public record Shape(int n, int k) {
        long weightBytes(DType t) {
            return (long) n * k * t.byteSize();
        }

        @Override
        public String toString() {
            return "[" + n + "," + k + "]";
        }
    }

    /** One-row matmul reading cold bf16 weights. */
    public record DecodeResult(Shape shape, double microsPerCall, double gbPerSecond) {}

    /** Many-row matmul; {@code numpyGflops} is NaN when numpy could not be run. */
    public record GemmResult(Shape shape, int rows, double gflops, double numpyGflops) {}

    /**
     * Memory read bandwidth in GB/s; NaN where a measurement could not be made. {@code copyGbPerSecond} counts the
     * bytes read by a large copy (the same amount is written, so the memory moves twice that).
     */
    public record Bandwidth(double copyGbPerSecond, double numpyMatvecGbPerSecond) {
        public double best() {
            return Double.isNaN(numpyMatvecGbPerSecond) ? copyGbPerSecond
                    : Math.max(copyGbPerSecond, numpyMatvecGbPerSecond);
        }
    }

    /**
     * {@code loadBefore}: the system load average when the run started (negative where unknown); above ~0.5 other
     * work was running, and the figures are likely skewed.
     */
    public record Report(int threads, int vectorBits, Bandwidth bandwidth, List<DecodeResult> decode,
            List<GemmResult> gemm, String numpyNote, double loadBefore) {}

    /** The small model's linear-layer shapes. */
    public static final List<Shape> SMALL_MODEL_SHAPES = List.of(
            new Shape(2816, 1024), new Shape(1024, 2816), new Shape(512, 1024), new Shape(2048, 512),
            new Shape(1024, 2048), new Shape(256, 1024), new Shape(1024, 256), new Shape(8192, 1024));

    /** Weights for the decode runs are spread over this much memory, far more than the last-level cache. */
    private static final long COLD_BYTES = 1L << 30;
    private static final long MEASURE_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    private KernelBench() {}

    public static Report run(List<Shape> shapes, int[] manyRows) {
        double loadBefore = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        Numpy matvec = Numpy.run(List.of(), manyRows, true);
        Bandwidth bandwidth = new Bandwidth(copyBandwidth(), matvec.matvecGbPerSecond);
        List<DecodeResult> decode = new ArrayList<>();
        List<GemmResult> gemm = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment cold = arena.allocate(COLD_BYTES, 64);
            cold.fill((byte) 0x3C); // every bf16 is 0x3C3C ≈ 0.0115: a normal number, so no slow paths
            Random random = new Random(1);
            warmUp(shapes.getFirst(), manyRows, cold, random);
            for (Shape s : shapes) {
                // numpy right before our kernels on the same shape: a busy machine then skews both alike.
                Numpy numpy = Numpy.run(List.of(s), manyRows, false);
                decode.add(decode(s, cold, random));
                for (int rows : manyRows) {
                    double gf = gemm(s, rows, cold, random);
                    gemm.add(new GemmResult(s, rows, gf, numpy.gemmGflops.getOrDefault(s + "x" + rows, Double.NaN)));
                }
            }
        }
        return new Report(Parallel.threads(), FloatVector.SPECIES_PREFERRED.vectorBitSize(), bandwidth, decode, gemm,
                matvec.note, loadBefore);
    }

    private static DecodeResult decode(Shape s, MemorySegment cold, Random random) {
        long bytes = s.weightBytes(DType.BF16);
        int copies = (int) Math.max(1, COLD_BYTES / bytes);
        Tensor[] ws = new Tensor[copies];
        for (int c = 0; c < copies; c++) {
            ws[c] = new Tensor("w" + c, DType.BF16, new long[] {s.n, s.k}, cold.asSlice(c * bytes, bytes));
        }
        float[] x = randomFloats(s.k, random);
        float[] out = new float[s.n];
        int[] next = {0}; // keeps rotating across batches, so no call finds its weights in a cache
        double nanos = time(calls -> {
            for (int i = 0; i < calls; i++) {
                MatMul.matmul(ws[next[0]], x, 1, out);
                next[0] = (next[0] + 1) % copies;
            }
        });
        return new DecodeResult(s, nanos / 1e3, bytes / nanos);
    }

    private static double gemm(Shape s, int rows, MemorySegment cold, Random random) {
        Tensor w = new Tensor("w", DType.BF16, new long[] {s.n, s.k}, cold.asSlice(0, s.weightBytes(DType.BF16)));
        float[] x = randomFloats(rows * s.k, random);
        float[] out = new float[rows * s.n];
        double nanos = time(calls -> {
            for (int i = 0; i < calls; i++) {
                MatMul.matmul(w, x, rows, out);
            }
        });
        return 2.0 * rows * s.n * s.k / nanos;
    }

    /** Lets the JIT finish compiling every kernel path before anything is timed. */
    private static void warmUp(Shape s, int[] manyRows, MemorySegment cold, Random random) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < end) {
            decode(s, cold, random);
            for (int rows : manyRows) {
                gemm(s, rows, cold, random);
            }
        }
    }

    private interface Calls {
        void run(int calls);
    }

    /** Nanoseconds per call: a warm-up, then batches of calls until the time budget is spent; the best batch. */
    private static double time(Calls body) {
        long warmEnd = System.nanoTime() + MEASURE_NANOS;
        int batch = 1;
        while (System.nanoTime() < warmEnd) {
            long t = System.nanoTime();
            body.run(batch);
            if (System.nanoTime() - t < MEASURE_NANOS / 20) {
                batch *= 2;
            }
        }
        double best = Double.MAX_VALUE;
        long end = System.nanoTime() + MEASURE_NANOS;
        while (System.nanoTime() < end) {
            long t = System.nanoTime();
            body.run(batch);
            best = Math.min(best, (double) (System.nanoTime() - t) / batch);
        }
        return best;
    }

    /** Copies a buffer far larger than the caches on every thread; counts the bytes read. */
    private static double copyBandwidth() {
        long half = 256L << 20;
        int pieces = 64;
        long piece = half / pieces;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(half, 64);
            MemorySegment dst = arena.allocate(half, 64);
            src.fill((byte) 1);
            dst.fill((byte) 2);
            double nanos = time(calls -> {
                for (int c = 0; c < calls; c++) {
                    Parallel.forRange(pieces, 1, (from, to) -> MemorySegment.copy(src, from * piece, dst,
                            from * piece, (to - from) * piece));
                }
            });
            return half / nanos;
        }
    }

    private static float[] randomFloats(int n, Random random) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = random.nextFloat() * 2 - 1;
        }
        return a;
    }

    /** numpy's float32 figures, measured in a python3 subprocess. */
    private record Numpy(Map<String, Double> gemmGflops, double matvecGbPerSecond, String note) {
        private static final String SCRIPT = """
                import sys, time
                import numpy as np
                def best(f, budget=0.25):
                    f(); b = 1e9; end = time.perf_counter() + budget
                    while time.perf_counter() < end:
                        t = time.perf_counter(); f(); b = min(b, time.perf_counter() - t)
                    return b
                rows = [int(r) for r in sys.argv[1].split(',')]
                for spec in sys.argv[2:]:
                    if spec == 'matvec':
                        a = np.random.rand(16384, 16384).astype(np.float32)
                        v = np.random.rand(16384).astype(np.float32)
                        print('matvec', a.nbytes / best(lambda: a @ v, 1.0) / 1e9, flush=True)
                        continue
                    n, k = map(int, spec.split('x'))
                    w = np.random.rand(n, k).astype(np.float32)
                    for m in rows:
                        x = np.random.rand(m, k).astype(np.float32)
                        print('gemm', n, k, m, 2.0 * m * n * k / best(lambda: x @ w.T) / 1e9, flush=True)
                print('version', np.__version__, flush=True)
                import ctypes
                for line in open('/proc/self/maps'):
                    path = line.split()[-1]
                    if 'openblas' not in path.lower() or '.so' not in path:
                        continue
                    lib = ctypes.CDLL(path)
                    for name in ('openblas_get_corename', 'openblas_get_corename64_', 'scipy_openblas_get_corename64_',
                                 'scipy_openblas_get_corename'):
                        f = getattr(lib, name, None)
                        if f is not None:
                            f.restype = ctypes.c_char_p
                            print('core', f().decode(), flush=True)
                            sys.exit(0)
                """;

        /**
         * sgemm on each shape for each row count, and the bandwidth of a 1 GiB matrix-vector product if asked. The
         * peer runs without {@code OPENBLAS_CORETYPE} and {@code OPENBLAS_L2_SIZE}: some machines set them to an
         * older core for old OpenBLAS builds, which makes a current numpy run its slower AVX2 kernels; the report
         * names the core OpenBLAS chose.
         */
        static Numpy run(List<Shape> shapes, int[] manyRows, boolean matvec) {
            List<String> cmd = new ArrayList<>(List.of("python3", "-c", SCRIPT,
                    String.join(",", java.util.Arrays.stream(manyRows).mapToObj(Integer::toString).toList())));
            shapes.forEach(s -> cmd.add(s.n + "x" + s.k));
            if (matvec) {
                cmd.add("matvec");
            }
            Map<String, Double> gemm = new HashMap<>();
            double matvecGbPerSecond = Double.NaN;
            String version = null;
            String core = "not OpenBLAS (or unknown)";
            String output;
            try {
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
                pb.environment().remove("OPENBLAS_CORETYPE");
                pb.environment().remove("OPENBLAS_L2_SIZE");
                Process p = pb.start();
                output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    return new Numpy(gemm, matvecGbPerSecond, "numpy not measured: python3 failed: " + lastLine(output));
                }
            } catch (IOException e) {
                return new Numpy(gemm, matvecGbPerSecond, "numpy not measured: cannot run python3 (" + e.getMessage() + ")");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Numpy(gemm, matvecGbPerSecond, "numpy not measured: interrupted");
            }
            for (String line : output.split("\n")) {
                String[] f = line.trim().split(" ");
                switch (f[0]) {
                    case "gemm" -> gemm.put("[" + f[1] + "," + f[2] + "]x" + f[3], Double.parseDouble(f[4]));
                    case "matvec" -> matvecGbPerSecond = Double.parseDouble(f[1]);
                    case "version" -> version = f[1];
                    case "core" -> core = "OpenBLAS core " + f[1];
                    default -> { }
                }
            }
            return new Numpy(gemm, matvecGbPerSecond, "numpy " + version + " float32, " + core
                    + " (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for this peer), same threads as its BLAS chooses");
        }

        private static String lastLine(String output) {
            String[] lines = output.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    public static void main(String[] args) {
        Report r = run(SMALL_MODEL_SHAPES, new int[] {64, 256});
        double bw = r.bandwidth.best();
        System.out.printf(Locale.ROOT, "threads %d, vector %d bits; %s%n", r.threads, r.vectorBits, r.numpyNote);
        System.out.printf(Locale.ROOT, "memory read bandwidth: copy %.1f GB/s read (%.1f GB/s read+written), numpy "
                + "matvec %s GB/s -> %.1f GB/s%n", r.bandwidth.copyGbPerSecond, 2 * r.bandwidth.copyGbPerSecond,
                orNa("%.1f", r.bandwidth.numpyMatvecGbPerSecond), bw);
        System.out.printf(Locale.ROOT, "%-12s %10s %8s %6s", "shape", "1-row us", "GB/s", "%bw");
        for (int rows : new int[] {64, 256}) {
            System.out.printf(Locale.ROOT, " %9s %9s %5s", "r" + rows + " GF/s", "numpy", "%np");
        }
        System.out.println();
        for (DecodeResult d : r.decode) {
            System.out.printf(Locale.ROOT, "%-12s %10.1f %8.1f %5.0f%%", d.shape, d.microsPerCall, d.gbPerSecond,
                    100 * d.gbPerSecond / bw);
            for (GemmResult g : r.gemm) {
                if (g.shape.equals(d.shape)) {
                    System.out.printf(Locale.ROOT, " %9.1f %9s %5s", g.gflops, orNa("%.1f", g.numpyGflops),
                            orNa("%.0f%%", 100 * g.gflops / g.numpyGflops));
                }
            }
            System.out.println();
        }
        System.out.printf(Locale.ROOT, "system load average at the start: %.2f%s%n", r.loadBefore,
                r.loadBefore > 0.5 ? " (other work was running: figures are likely skewed)" : "");
    }

    private static String orNa(String format, double value) {
        return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, format, value);
    }
}
