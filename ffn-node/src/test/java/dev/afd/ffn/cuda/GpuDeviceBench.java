package dev.afd.ffn.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.afd.ffn.core.Batches;
import dev.afd.ffn.core.ExpertRange;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Random;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Test;

/**
 * The device check's full-size part ({@code benchmarks/gpu/device-check.sh}, which makes its inputs): one Step-3
 * MoE layer (H = 7168, 48 experts of width 5120, top-3, a shared expert of width 5120) with the random bf16 weights
 * and PyTorch reference output of {@code step3_reference.py}, ending with a table.
 * <ul>
 *   <li>correctness: the CUDA backend on the first 1, 8, 64 and 512 rows against PyTorch's output; fails the test
 *       beyond {@link ReferenceLayer#RELATIVE_L2} or {@link ReferenceLayer#MAX_ERROR};
 *   <li>the grouped expert GEMM (tensor-core path) at 8 experts x 1,024 rows against PyTorch's cuBLAS bf16 matmul
 *       on the same shapes, measured by the script in the same run;
 *   <li>the few-row (GEMV) paths at 1 and 8 rows per expert, weight bytes read per second against the
 *       device-to-device copy bandwidth measured here;
 *   <li>one whole MoE layer at 128 and 1,024 rows with random top-3 routing, kernels only and host to host;
 *   <li>for context, the bf16 WMMA instruction's own peak ({@code mma_peak.cu}), which is all the MMA kernels use.
 * </ul>
 * Speed below a target prints a "below target" line and does not fail. Not a unit test (its name keeps it out of
 * the default run); without {@code -Dafd.bench.layer} it skips.
 */
class GpuDeviceBench {
    private static final SyntheticModel.Shape STEP3 = new SyntheticModel.Shape(7168, 0, 48, 3, 5120, 5120);
    private static final int[] CHECKED_ROWS = {1, 8, 64, 512};
    private static final double GIGA = 1e9;
    private static final double TERA = 1e12;
    /**
     * The grouped GEMM's target against cuBLAS. mma.sync (WMMA) is the only tensor-core instruction the kernels
     * use; on sm_90 cuBLAS uses wgmma, which mma.sync cannot match, so the bar is below parity.
     */
    private static final double GEMM_TARGET = 0.4;
    /** The few-row paths' target against the copy bandwidth: they should stream weights at near HBM speed. */
    private static final double GEMV1_TARGET = 0.6;
    private static final double GEMV8_TARGET = 0.5;

    private final List<String[]> table = new ArrayList<>();
    private final List<String> belowTarget = new ArrayList<>();

    @Test
    void measure() throws IOException {
        String layerFile = System.getProperty("afd.bench.layer");
        assumeTrue(layerFile != null, "needs the reference layer (-Dafd.bench.layer=FILE), which"
                + " benchmarks/gpu/device-check.sh makes with step3_reference.py");
        CudaProbe.Verdict verdict = CudaProbe.verdict();
        assumeTrue(verdict.available(), "no usable GPU: " + verdict.description());
        CudaDevice device = CudaProbe.device();
        Properties torch = torchFigures();
        List<String> wrong = new ArrayList<>();
        long start = System.nanoTime();
        try (ReferenceLayer reference = new ReferenceLayer(Path.of(layerFile));
                CudaFfnBackend cuda = CudaFfnBackend.create(reference.config, reference.weights,
                        new ExpertRange(0, reference.shape.experts() - 1))) {
            assertThat(reference.shape).as("the reference layer's shape").isEqualTo(STEP3);
            row("backend", cuda.describe(), "", "", "");
            row("setup", String.format(Locale.ROOT, "%.1f s to map the layer and upload it",
                    (System.nanoTime() - start) / 1e9), "", "", "");
            for (int rows : CHECKED_ROWS) {
                int n = Math.min(rows, reference.rows);
                ReferenceLayer.Comparison c = reference.compare(cuda.compute(Batches.of(STEP3.hidden(),
                        SyntheticModel.MOE_LAYER, reference.x(n), n, ReferenceLayer.allRows(n), STEP3.topK(),
                        reference.expertIds(n), reference.expertWeights(n))));
                row(String.format(Locale.ROOT, "Step-3 layer vs PyTorch (%s), %d rows",
                        torch.getProperty("torch", "bf16 reference"), n), c.toString(), "",
                        c.passes() ? "pass" : "FAIL", String.format(Locale.ROOT, "L2 <= %.0e, largest <= %.0e",
                                ReferenceLayer.RELATIVE_L2, ReferenceLayer.MAX_ERROR));
                if (!c.passes()) {
                    wrong.add(n + " rows: " + c);
                }
            }
            device.thread().call(() -> {
                measureOnGpu(device, cuda, torch);
                return null;
            });
        } finally {
            // Whatever was measured before a failure still gets reported.
            StringBuilder text = new StringBuilder("| measurement | result | reference | of reference | target |\n"
                    + "|---|---|---|---|---|\n");
            for (String[] r : table) {
                text.append("| ").append(String.join(" | ", r)).append(" |\n");
            }
            for (String line : belowTarget) {
                text.append("\nbelow target: ").append(line);
            }
            System.out.print(text.append('\n'));
            Path out = Path.of(System.getProperty("afd.bench.out", "target/gpu-device-check.md"));
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, text);
        }
        assertThat(wrong).as("the CUDA backend against PyTorch at full size").isEmpty();
    }

    /** The script's figures ({@code -Dafd.bench.torch}); empty when it has none, and the rows then say so. */
    private static Properties torchFigures() throws IOException {
        Properties p = new Properties();
        String file = System.getProperty("afd.bench.torch");
        if (file != null && Files.isRegularFile(Path.of(file))) {
            try (InputStream in = Files.newInputStream(Path.of(file))) {
                p.load(in);
            }
        }
        return p;
    }

    private void row(String what, String result, String reference, String ratio, String target) {
        table.add(new String[] {what, result, reference, ratio, target});
    }

    /** A row with a target: a fraction of a reference that the result should reach. */
    private void targetRow(String what, double value, double reference, double target, boolean rate) {
        String shown = rate ? tflops(value) : gbps(value);
        if (!(reference > 0)) {
            row(what, shown, "none measured", "", String.format(Locale.ROOT, ">= %.0f%%", 100 * target));
            belowTarget.add(what + ": no reference figure to compare with");
            return;
        }
        row(what, shown, rate ? tflops(reference) : gbps(reference), percent(value, reference),
                String.format(Locale.ROOT, ">= %.0f%%", 100 * target));
        if (value < target * reference) {
            belowTarget.add(String.format(Locale.ROOT, "%s: %s of %s, target %.0f%%", what,
                    percent(value, reference), rate ? tflops(reference) : gbps(reference), 100 * target));
        }
    }

    private static String percent(double value, double reference) {
        return String.format(Locale.ROOT, "%.0f%%", 100 * value / reference);
    }

    private void measureOnGpu(CudaDevice device, CudaFfnBackend cuda, Properties torch) {
        FfnRunner runner = cuda.runner();
        CUstream stream = runner.computeStream();
        double hbm = copyBandwidth(stream);
        row("HBM bandwidth (device-to-device copy, read + write)", gbps(hbm),
                torch.containsKey("torch_copy_gbps") ? torch.getProperty("torch_copy_gbps") + " GB/s (PyTorch)" : "",
                "", "");
        double cublas = Double.parseDouble(torch.getProperty("cublas_bf16_tflops", "0")) * TERA;

        int h = STEP3.hidden();
        int inter = STEP3.expertInter();
        DeviceLayer layer = cuda.layer(SyntheticModel.MOE_LAYER);
        try (DeviceBuffer hBuffer = new DeviceBuffer(); DeviceBuffer yBuffer = new DeviceBuffer()) {
            // Grouped GEMM: 8 experts x 1,024 rows, one slot per row.
            int experts = 8;
            int rows = 1024 * experts;
            int[] ids = new int[rows];
            Arrays.setAll(ids, r -> r / 1024);
            double seconds = routedMlpSeconds(runner, layer, rows, 1, ids, hBuffer, yBuffer, stream);
            targetRow("grouped GEMM, tensor cores: 8 experts x 1,024 rows (gate+up+down), vs cuBLAS bf16",
                    6.0 * rows * h * inter / seconds, cublas, GEMM_TARGET, true);

            // Few rows: every expert gets exactly 1 (then 8) rows, so all 48 experts' weights are read once.
            for (int perExpert : new int[] {1, 8}) {
                int slots = STEP3.experts() * perExpert;
                int decodeRows = slots / STEP3.topK();
                int[] decodeIds = new int[slots];
                Arrays.setAll(decodeIds, s -> s % STEP3.experts());
                double t = routedMlpSeconds(runner, layer, decodeRows, STEP3.topK(), decodeIds, hBuffer, yBuffer,
                        stream);
                targetRow(String.format(Locale.ROOT, "few-row path (%s): 48 experts x %d row%s, weight bytes read,"
                        + " vs copy bandwidth", TilePath.forGroup(perExpert), perExpert, perExpert == 1 ? "" : "s"),
                        layer.experts().bytes() / t, hbm, perExpert == 1 ? GEMV1_TARGET : GEMV8_TARGET, false);
            }
        }

        // A whole MoE layer at Step-3's shape: every row through the shared expert and 3 random experts.
        Random random = new Random(11);
        for (int rows : new int[] {128, 1024}) {
            float[] x = RandomFrames.activations(random, rows, h);
            int[] ids = topK(random, rows);
            float[] w = RandomFrames.expertWeights(random, rows * STEP3.topK());
            int[] shared = ReferenceLayer.allRows(rows);
            double kernels = layerKernelSeconds(runner, layer, x, rows, shared, ids, w, stream);
            double[] hostToHost = new double[5];
            cuda.compute(Batches.of(STEP3.hidden(), 0, x, rows, shared, STEP3.topK(), ids, w)); // warm-up
            for (int i = 0; i < hostToHost.length; i++) {
                long t0 = System.nanoTime();
                cuda.compute(Batches.of(STEP3.hidden(), 0, x, rows, shared, STEP3.topK(), ids, w));
                hostToHost[i] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(hostToHost);
            double flops = 6.0 * h * inter * rows * (1 + STEP3.topK());
            row(String.format(Locale.ROOT, "MoE layer, Step-3 shape, %d rows: kernels", rows),
                    String.format(Locale.ROOT, "%.2f ms (%s)", kernels * 1e3, tflops(flops / kernels)),
                    cublas > 0 ? tflops(cublas) + " (cuBLAS)" : "", cublas > 0 ? percent(flops / kernels, cublas) : "",
                    "");
            row(String.format(Locale.ROOT, "MoE layer, Step-3 shape, %d rows: host to host (median of 5)", rows),
                    String.format(Locale.ROOT, "%.2f ms", hostToHost[2] * 1e3), "", "", "");
        }
        row("bf16 WMMA instruction peak (dense, operands in registers), for context", tflops(mmaPeak(device, stream)),
                "", "", "");
    }

    /** Random top-3 distinct experts per row. */
    private static int[] topK(Random random, int rows) {
        int k = STEP3.topK();
        int[] ids = new int[rows * k];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < k; j++) {
                int e;
                boolean taken;
                do {
                    e = random.nextInt(STEP3.experts());
                    taken = false;
                    for (int i = 0; i < j; i++) {
                        taken |= ids[r * k + i] == e;
                    }
                } while (taken);
                ids[r * k + j] = e;
            }
        }
        return ids;
    }

    /** Seconds per run of the routed MLP's kernels (gate/up and down over every tile), inputs already on the GPU. */
    private static double routedMlpSeconds(FfnRunner runner, DeviceLayer layer, int rows, int k, int[] ids,
            DeviceBuffer h, DeviceBuffer y, CUstream stream) {
        float[] weights = new float[ids.length];
        Arrays.fill(weights, 1f);
        RoutingPlan plan = RoutingPlan.of(Batches.of(0, 0, new float[0], rows, new int[0], k, ids, weights),
                new ExpertRange(0, STEP3.experts() - 1));
        // Random activations: zeros would spare the tensor cores' power budget and flatter the clocks.
        CUdeviceptr x16 = runner.stageInput(RandomFrames.activations(new Random(rows), rows, STEP3.hidden()), rows);
        FfnRunner.Sections s = runner.uploadTables(plan);
        CUdeviceptr out = y.ensure(4L * plan.routedCount() * STEP3.hidden());
        return time(stream, 5, () -> runner.enqueueMlp(layer.experts(), x16, s.slotRow(), plan.routedCount(),
                plan.expertTiles(), s.expertTiles(), h, out));
    }

    /** Seconds per run of one layer's kernels: the shared MLP and the routed MLP (the combine is tiny). */
    private static double layerKernelSeconds(FfnRunner runner, DeviceLayer layer, float[] x, int rows, int[] shared,
            int[] ids, float[] w, CUstream stream) {
        RoutingPlan plan = RoutingPlan.of(Batches.of(0, 0, new float[0], rows, shared, STEP3.topK(), ids, w),
                new ExpertRange(0, STEP3.experts() - 1));
        try (DeviceBuffer sharedH = new DeviceBuffer(); DeviceBuffer sharedY = new DeviceBuffer();
                DeviceBuffer expertH = new DeviceBuffer(); DeviceBuffer expertY = new DeviceBuffer()) {
            CUdeviceptr x16 = runner.stageInput(x, rows);
            FfnRunner.Sections s = runner.uploadTables(plan);
            CUdeviceptr sharedOut = sharedY.ensure(4L * rows * STEP3.hidden());
            CUdeviceptr expertOut = expertY.ensure(4L * plan.routedCount() * STEP3.hidden());
            return time(stream, 5, () -> {
                runner.enqueueMlp(layer.shared(), x16, s.sharedIndex(), plan.sharedCount(), plan.sharedTiles(),
                        s.sharedTiles(), sharedH, sharedOut);
                runner.enqueueMlp(layer.experts(), x16, s.slotRow(), plan.routedCount(), plan.expertTiles(),
                        s.expertTiles(), expertH, expertOut);
            });
        }
    }

    /** Seconds per repetition of the work {@code enqueue} queues on {@code stream}, after one warm-up. */
    private static double time(CUstream stream, int repetitions, Runnable enqueue) {
        CUevent start = new CUevent();
        CUevent end = new CUevent();
        cuEventCreate(start, CUevent_flags.CU_EVENT_DEFAULT);
        cuEventCreate(end, CUevent_flags.CU_EVENT_DEFAULT);
        try {
            enqueue.run();
            cuCtxSynchronize();
            cuEventRecord(start, stream);
            for (int i = 0; i < repetitions; i++) {
                enqueue.run();
            }
            cuEventRecord(end, stream);
            cuEventSynchronize(end);
            float[] ms = new float[1];
            cuEventElapsedTime(ms, start, end);
            return ms[0] / 1e3 / repetitions;
        } finally {
            cuEventDestroy(start);
            cuEventDestroy(end);
        }
    }

    /** FLOP/s of mma_peak with 4 blocks of 8 warps per SM, sized to run about 100 ms. */
    private static double mmaPeak(CudaDevice device, CUstream stream) {
        CudaModules.Loaded loaded = CudaModules.load("mma_peak", device.major(), device.minor());
        try (DeviceBuffer out = new DeviceBuffer()) {
            CUfunction f = new CUfunction();
            cuModuleGetFunction(f, loaded.module(), "mma_peak");
            int blocks = 4 * device.multiprocessors();
            CUdeviceptr o = out.ensure(4L * blocks * FfnKernels.THREADS);
            double flopsPerIteration = blocks * (FfnKernels.THREADS / 32.0) * 8 * 2 * 16 * 16 * 16;
            double probe = time(stream, 1, () -> FfnKernels.launch(f, blocks, 1, 0, stream, o, 1_000));
            int iterations = (int) Math.min(2_000_000, Math.max(1_000, 1_000 * 0.1 / probe));
            double seconds = time(stream, 3, () -> FfnKernels.launch(f, blocks, 1, 0, stream, o, iterations));
            return flopsPerIteration * iterations / seconds;
        } finally {
            cuModuleUnload(loaded.module());
        }
    }

    /** Bytes per second read plus written by a 2 GiB device-to-device copy. */
    private static double copyBandwidth(CUstream stream) {
        long bytes = 2L << 30;
        try (DeviceBuffer a = new DeviceBuffer(); DeviceBuffer b = new DeviceBuffer()) {
            CUdeviceptr src = a.ensure(bytes);
            CUdeviceptr dst = b.ensure(bytes);
            double seconds = time(stream, 10, () -> cuMemcpyDtoDAsync(dst, src, bytes, stream));
            return 2.0 * bytes / seconds;
        }
    }

    private static String tflops(double flops) {
        return String.format(Locale.ROOT, "%.1f TFLOP/s", flops / TERA);
    }

    private static String gbps(double bytesPerSecond) {
        return String.format(Locale.ROOT, "%.0f GB/s", bytesPerSecond / GIGA);
    }
}
