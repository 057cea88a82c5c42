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
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Test;

/**
 * The device check's measurements on a GPU, at Step-3's FFN shape (H = 7168, experts of width 5120, 48 experts,
 * top-3, a shared expert of width 5120), ending with a table:
 * <ul>
 *   <li>the bf16 tensor-core peak as a dense register-only WMMA kernel reaches it ({@code mma_peak.cu}),
 *   <li>HBM bandwidth as a device-to-device copy reaches it (bytes read + written),
 *   <li>the grouped expert GEMM (tensor-core path) at 1,024 rows per expert, against that peak,
 *   <li>the few-row (GEMV) path at 1 and 8 rows per expert, weight bytes read per second against that bandwidth,
 *   <li>one whole MoE layer at 128 and 1,024 rows with random top-3 routing, kernels only and host to host,
 *   <li>a spot check of the full-size layer against the CPU backend.
 * </ul>
 * Not a unit test (its name keeps it out of the default run): {@code benchmarks/gpu/device-check.sh} runs it
 * with {@code -Dtest=GpuDeviceBench -Dafd.bench.out=FILE}.
 */
class GpuDeviceBench {
    private static final SyntheticModel.Shape STEP3 = new SyntheticModel.Shape(7168, 0, 48, 3, 5120, 5120);
    private static final double GIGA = 1e9;
    private static final double TERA = 1e12;

    private final List<String[]> table = new ArrayList<>();

    @Test
    void measure() throws IOException {
        CudaProbe.Verdict verdict = CudaProbe.verdict();
        assumeTrue(verdict.available(), "no usable GPU: " + verdict.description());
        CudaDevice device = CudaProbe.device();
        long start = System.nanoTime();
        try (SyntheticModel model = new SyntheticModel(STEP3, 7, false);
                CudaFfnBackend cuda = CudaFfnBackend.create(model.config, model.weights,
                        new ExpertRange(0, STEP3.experts() - 1))) {
            row("backend", cuda.describe(), "", "", "");
            row("setup", String.format(Locale.ROOT, "%.1f s to make the weights and upload them",
                    (System.nanoTime() - start) / 1e9), "", "", "");
            device.thread().call(() -> {
                measureOnGpu(device, cuda, model);
                return null;
            });
        } finally {
            // Whatever was measured before a failure still gets reported.
            StringBuilder text = new StringBuilder("| measurement | result | reference | of reference | target |\n"
                    + "|---|---|---|---|---|\n");
            for (String[] r : table) {
                text.append("| ").append(String.join(" | ", r)).append(" |\n");
            }
            System.out.print(text);
            Path out = Path.of(System.getProperty("afd.bench.out", "target/gpu-device-check.md"));
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, text);
        }
    }

    private void row(String what, String result, String reference, String ratio, String target) {
        table.add(new String[] {what, result, reference, ratio, target});
    }

    private static String percent(double value, double reference) {
        return String.format(Locale.ROOT, "%.0f%%", 100 * value / reference);
    }

    private void measureOnGpu(CudaDevice device, CudaFfnBackend cuda, SyntheticModel model) {
        FfnRunner runner = cuda.runner();
        CUstream stream = runner.computeStream();
        double peak = mmaPeak(device, stream);
        row("bf16 WMMA peak (dense, operands in registers)", tflops(peak), "", "", "");
        double hbm = copyBandwidth(stream);
        row("HBM bandwidth (device-to-device copy, read + write)", gbps(hbm), "", "", "");

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
            double rate = 6.0 * rows * h * inter / seconds;
            row("grouped GEMM, tensor cores: 8 experts x 1,024 rows (gate+up+down)", tflops(rate), tflops(peak),
                    percent(rate, peak), ">= 50%");

            // Few rows: every expert gets exactly 1 (then 8) rows, so all 48 experts' weights are read once.
            for (int perExpert : new int[] {1, 8}) {
                int slots = STEP3.experts() * perExpert;
                int decodeRows = slots / STEP3.topK();
                int[] decodeIds = new int[slots];
                Arrays.setAll(decodeIds, s -> s % STEP3.experts());
                double t = routedMlpSeconds(runner, layer, decodeRows, STEP3.topK(), decodeIds, hBuffer, yBuffer,
                        stream);
                double bytes = layer.experts().bytes();
                row(String.format(Locale.ROOT, "few-row path (GEMV): 48 experts x %d row%s, weight bytes read",
                        perExpert, perExpert == 1 ? "" : "s"), gbps(bytes / t), gbps(hbm), percent(bytes / t, hbm),
                        perExpert == 1 ? ">= 60%" : "");
            }
        }

        // A whole MoE layer at Step-3's shape: every row through the shared expert and 3 random experts.
        Random random = new Random(11);
        for (int rows : new int[] {128, 1024}) {
            float[] x = RandomFrames.activations(random, rows, h);
            int[] ids = topK(random, rows);
            float[] w = RandomFrames.expertWeights(random, rows * STEP3.topK());
            int[] shared = new int[rows];
            Arrays.setAll(shared, r -> r);
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
                    String.format(Locale.ROOT, "%.2f ms (%s)", kernels * 1e3, tflops(flops / kernels)), tflops(peak),
                    percent(flops / kernels, peak), "");
            row(String.format(Locale.ROOT, "MoE layer, Step-3 shape, %d rows: host to host (median of 5)", rows),
                    String.format(Locale.ROOT, "%.2f ms", hostToHost[2] * 1e3), "", "", "");
        }

        // The full-size layer against the CPU backend on a few rows.
        int rows = 3;
        float[] x = RandomFrames.activations(random, rows, h);
        int[] ids = topK(random, rows);
        float[] w = RandomFrames.expertWeights(random, rows * STEP3.topK());
        int[] shared = {2, 0};
        float[] gpu = cuda.compute(Batches.of(STEP3.hidden(), 0, x, rows, shared, STEP3.topK(), ids, w));
        float[] cpu = new CpuFfnBackend(model.config, model.weights, cuda.experts())
                .compute(Batches.of(STEP3.hidden(), 0, x, rows, shared, STEP3.topK(), ids, w));
        double worst = 0;
        for (int i = 0; i < cpu.length; i++) {
            worst = Math.max(worst, Math.abs(gpu[i] - cpu[i]));
        }
        double relative = worst / RandomFrames.scale(cpu);
        row("Step-3 layer vs CPU backend (3 rows): largest error / largest value",
                String.format(Locale.ROOT, "%.2e", relative), "", "", "<= 2e-2");
        assertThat(relative).as("GPU against CPU at full size").isLessThanOrEqualTo(2e-2);
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
