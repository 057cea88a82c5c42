package dev.afd.ffn.cuda;

import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuModuleGetGlobal;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import java.util.EnumMap;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;

/**
 * The kernels of {@code ffn.cu}, loaded once, with one typed launch method each; see {@code ffn.cu} for what each
 * computes. Launches are asynchronous on the given stream. CUDA thread only.
 */
final class FfnKernels implements AutoCloseable {
    /** Threads per block of every kernel ({@code THREADS} in ffn.cu). */
    static final int THREADS = 256;

    private final CUmodule module;
    private final String resource;
    private final Map<TilePath, CUfunction> gateUp = new EnumMap<>(TilePath.class);
    private final Map<TilePath, CUfunction> down = new EnumMap<>(TilePath.class);
    private final CUfunction toBf16;
    private final CUfunction combine;

    private FfnKernels(CudaModules.Loaded loaded) {
        module = loaded.module();
        resource = loaded.resource();
        for (TilePath path : TilePath.values()) {
            path.requireMatches(exported(path.exportName()));
            gateUp.put(path, function("ffn_gate_up_" + path.suffix, path));
            down.put(path, function("ffn_down_" + path.suffix, path));
        }
        toBf16 = function("ffn_to_bf16", null);
        combine = function("ffn_combine", null);
    }

    /**
     * Loads the module for a GPU of compute capability {@code major.minor}.
     *
     * @throws CudaUnavailableException when the module does not load or its tile paths differ from {@link TilePath}
     */
    static FfnKernels load(int major, int minor) {
        CudaModules.Loaded loaded = CudaModules.load("ffn", major, minor);
        try {
            return new FfnKernels(loaded);
        } catch (IllegalStateException e) {
            cuModuleUnload(loaded.module());
            throw new CudaUnavailableException("the CUDA kernels of " + loaded.resource() + " do not match this"
                    + " build: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            cuModuleUnload(loaded.module());
            throw e;
        }
    }

    /** The four ints of a {@code __constant__ int[4]} the module exports. */
    private int[] exported(String name) {
        CUdeviceptr symbol = new CUdeviceptr();
        long[] bytes = new long[1];
        cuModuleGetGlobal(symbol, bytes, module, name);
        int[] values = new int[(int) (bytes[0] / Integer.BYTES)];
        cuMemcpyDtoH(Pointer.to(values), symbol, (long) values.length * Integer.BYTES);
        return values;
    }

    private CUfunction function(String name, TilePath path) {
        CUfunction f = new CUfunction();
        cuModuleGetFunction(f, module, name);
        if (path != null && path.dynamicSharedBytes > 0) {
            // Above the 48 KB a kernel gets without asking.
            cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    path.dynamicSharedBytes);
        }
        return f;
    }

    /** The binary that was loaded, e.g. {@code cuda/ffn.sm_90.cubin}. */
    String resource() {
        return resource;
    }

    /**
     * {@code h[p] = silu(W_gate x[rowIndex[p]]) * (W_up x[rowIndex[p]])} (each factor clamped by the MLP's SwiGLU
     * limit, if any) for the positions of {@code tileCount} tiles of one path; x is bf16 {@code [*, hidden]}, h bf16
     * {@code [*, inter]}.
     */
    void gateUp(TilePath path, CUdeviceptr tiles, int tileCount, CUdeviceptr x, CUdeviceptr rowIndex, DeviceMlp w,
            CUdeviceptr h, CUstream stream) {
        launch(gateUp.get(path), tileCount, blocks(w.inter(), path.gatedColumnsPerBlock), path.dynamicSharedBytes,
                stream, x, rowIndex, w.gate(), w.up(), h, tiles, w.inter(), w.hidden(), w.limit());
    }

    /** {@code y[p] = W_down h[p]} for the positions of {@code tileCount} tiles; y is f32 {@code [*, hidden]}. */
    void down(TilePath path, CUdeviceptr tiles, int tileCount, CUdeviceptr h, DeviceMlp w, CUdeviceptr y,
            CUstream stream) {
        launch(down.get(path), tileCount, blocks(w.hidden(), path.plainColumnsPerBlock), path.dynamicSharedBytes,
                stream, h, w.down(), y, tiles, w.hidden(), w.inter());
    }

    /** {@code out[i] = bf16(in[i])} for {@code i < n}. */
    void toBf16(CUdeviceptr in, CUdeviceptr out, long n, CUstream stream) {
        int grid = (int) Math.min((n + THREADS - 1) / THREADS, 1 << 20);
        launch(toBf16, Math.max(grid, 1), 1, 0, stream, in, out, n);
    }

    /** Per frame row: its shared result plus its slots' weighted expert results; see {@link RoutingPlan}. */
    void combine(int rows, CUdeviceptr sharedOut, CUdeviceptr sharedPos, CUdeviceptr y, CUdeviceptr slotPos,
            CUdeviceptr slotWeight, CUdeviceptr out, int k, int hidden, CUstream stream) {
        launch(combine, rows, 1, 0, stream, sharedOut, sharedPos, y, slotPos, slotWeight, out, k, hidden);
    }

    private static int blocks(int columns, int perBlock) {
        return (columns + perBlock - 1) / perBlock;
    }

    /** Kernel arguments: device pointers, ints, longs and floats, in the kernel's parameter order. */
    static void launch(CUfunction f, int gridX, int gridY, int sharedBytes, CUstream stream,
            Object... args) {
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = switch (args[i]) {
                case CUdeviceptr p -> Pointer.to(p);
                case Integer n -> Pointer.to(new int[] {n});
                case Long n -> Pointer.to(new long[] {n});
                case Float x -> Pointer.to(new float[] {x});
                default -> throw new IllegalArgumentException("kernel argument " + i + " is a "
                        + args[i].getClass().getSimpleName());
            };
        }
        // cuLaunchKernel copies the parameter values before it returns, so the arrays above may go.
        cuLaunchKernel(f, gridX, gridY, 1, THREADS, 1, 1, sharedBytes, stream, Pointer.to(params), null);
    }

    @Override
    public void close() {
        cuModuleUnload(module);
    }
}
