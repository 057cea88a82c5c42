package dev.afd.ffn.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import dev.afd.ffn.core.FfnBackend;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;

/**
 * Runs one layer's FFN for one frame on the GPU: the per-call workspace, two streams, and the order of copies and
 * kernels.
 *
 * <p>Per call: the frame's activations (f32) and the plan's index tables go up on the copy stream, through pinned
 * buffers, as two copies with an event each; the compute stream converts the activations to bf16 as soon as they
 * have landed, while the tables are still copying, then waits for the tables and runs the shared MLP, the routed
 * MLP and the combine; the result comes back on the copy stream once the compute stream's last event has fired.
 * Copies and kernels sit on separate streams so they can overlap; within one frame the only overlap is the table
 * upload with the conversion, since every kernel needs the activations. Every buffer that queued work touches is
 * sized before the work is queued, and none is resized until the call has waited for its result.
 *
 * <p>Ownership and threading: owns its streams, events and buffers until {@link #close}; CUDA thread only. Calls
 * run one after the other, and each waits for its own result, so the next call may reuse every buffer.
 */
final class FfnRunner implements AutoCloseable {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Table sections start at multiples of this many ints (256 bytes), like cuMemAlloc's own alignment. */
    private static final int SECTION_ALIGN = 64;

    private final FfnKernels kernels;
    private final int hidden;
    private final CUstream compute = new CUstream();
    private final CUstream copy = new CUstream();
    private final CUevent inputReady = new CUevent();
    private final CUevent tablesReady = new CUevent();
    private final CUevent resultReady = new CUevent();
    // Pinned buffers grow on first use (PinnedBuffer.ensure), so constructing the runner allocates only streams
    // and events.
    private final PinnedBuffer hostInput = new PinnedBuffer(0);
    private final PinnedBuffer hostTables = new PinnedBuffer(0);
    private final PinnedBuffer hostResult = new PinnedBuffer(0);
    private final DeviceBuffer input = new DeviceBuffer();
    private final DeviceBuffer inputBf16 = new DeviceBuffer();
    private final DeviceBuffer tables = new DeviceBuffer();
    private final DeviceBuffer sharedH = new DeviceBuffer();
    private final DeviceBuffer sharedOut = new DeviceBuffer();
    private final DeviceBuffer expertH = new DeviceBuffer();
    private final DeviceBuffer expertOut = new DeviceBuffer();
    private final DeviceBuffer result = new DeviceBuffer();

    /** Streams and events created so far, for {@link #close} after a constructor that failed half way. */
    private final List<Object> created = new ArrayList<>();

    FfnRunner(FfnKernels kernels, int hidden) {
        this.kernels = kernels;
        this.hidden = hidden;
        try {
            for (CUstream s : new CUstream[] {compute, copy}) {
                cuStreamCreate(s, CUstream_flags.CU_STREAM_NON_BLOCKING);
                created.add(s);
            }
            for (CUevent e : new CUevent[] {inputReady, tablesReady, resultReady}) {
                cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING);
                created.add(e);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * The layer's FFN output for the frame, {@code rows × hidden}, as {@link dev.afd.ffn.core.FfnBackend#compute}
     * defines it. Blocks until the result is back on the host.
     */
    float[] run(DeviceLayer layer, float[] x, RoutingPlan plan) {
        int rows = plan.rows();
        long activations = (long) rows * hidden;
        CUdeviceptr x16 = stageInput(x, rows);
        Sections s = uploadTables(plan);
        CUdeviceptr sharedResult = sharedOut.ensure(4L * plan.sharedCount() * hidden);
        if (plan.sharedCount() > 0) {
            enqueueMlp(layer.shared(), x16, s.sharedIndex, plan.sharedCount(), plan.sharedTiles(), s.sharedTiles,
                    sharedH, sharedResult);
        }
        CUdeviceptr expertResult = expertOut.ensure(4L * plan.routedCount() * hidden);
        if (plan.routedCount() > 0) {
            enqueueMlp(layer.experts(), x16, s.slotRow, plan.routedCount(), plan.expertTiles(), s.expertTiles,
                    expertH, expertResult);
        }
        CUdeviceptr out = result.ensure(4 * activations);
        kernels.combine(rows, sharedResult, s.sharedPos, expertResult, s.slotPos, s.slotWeight, out, plan.k(),
                hidden, compute);
        cuEventRecord(resultReady, compute);

        cuStreamWaitEvent(copy, resultReady, 0);
        cuMemcpyDtoHAsync(hostResult.ensure(4 * activations).pointer(), out, 4 * activations, copy);
        cuStreamSynchronize(copy);
        float[] y = new float[(int) activations];
        MemorySegment.copy(hostResult.segment(), FLOAT, 0, y, 0, (int) activations);
        return y;
    }

    /**
     * Queues the upload of {@code rows × hidden} activations on the copy stream and their conversion to bf16 on
     * the compute stream, after the upload; returns the bf16 copy's device pointer.
     */
    CUdeviceptr stageInput(float[] x, int rows) {
        long activations = (long) rows * hidden;
        MemorySegment.copy(x, 0, hostInput.ensure(4 * activations).segment(), FLOAT, 0, (int) activations);
        CUdeviceptr x32 = input.ensure(4 * activations);
        cuMemcpyHtoDAsync(x32, hostInput.pointer(), 4 * activations, copy);
        cuEventRecord(inputReady, copy);
        cuStreamWaitEvent(compute, inputReady, 0);
        CUdeviceptr x16 = inputBf16.ensure(2 * activations);
        kernels.toBf16(x32, x16, activations, compute);
        return x16;
    }

    /**
     * Queues one grouped MLP over {@code positions} gathered rows on the compute stream: gate/up, then down, each
     * over the tiles of every path. {@code rowIndex} maps positions to rows of x; h is the intermediate workspace.
     */
    void enqueueMlp(DeviceMlp w, CUdeviceptr x16, CUdeviceptr rowIndex, int positions, Tiles tiles,
            PathPointers tilePointers, DeviceBuffer h, CUdeviceptr y) {
        CUdeviceptr hidden16 = h.ensure(2L * positions * w.inter());
        for (TilePath path : TilePath.values()) {
            if (tiles.count(path) > 0) {
                kernels.gateUp(path, tilePointers.of(path), tiles.count(path), x16, rowIndex, w, hidden16, compute);
            }
        }
        for (TilePath path : TilePath.values()) {
            if (tiles.count(path) > 0) {
                kernels.down(path, tilePointers.of(path), tiles.count(path), hidden16, w, y, compute);
            }
        }
    }

    /** The compute stream, for callers that time or chain work on it (benchmarks). */
    CUstream computeStream() {
        return compute;
    }

    /** Device pointers to the tiles of each path. */
    record PathPointers(CUdeviceptr[] byPath) {
        CUdeviceptr of(TilePath path) {
            return byPath[path.ordinal()];
        }
    }

    /** Device pointers to the sections of the uploaded tables. */
    record Sections(CUdeviceptr sharedIndex, CUdeviceptr sharedPos, CUdeviceptr slotRow, CUdeviceptr slotPos,
            CUdeviceptr slotWeight, PathPointers sharedTiles, PathPointers expertTiles) {}

    /**
     * Packs the plan's tables into one pinned buffer, queues their upload on the copy stream, makes the compute
     * stream wait for it, and names the parts.
     */
    Sections uploadTables(RoutingPlan plan) {
        List<int[]> parts = new ArrayList<>();
        parts.add(plan.sharedIndex());
        parts.add(plan.sharedPos());
        parts.add(plan.slotRow());
        parts.add(plan.slotPos());
        int[] weightBits = new int[plan.slotWeight().length];
        for (int i = 0; i < weightBits.length; i++) {
            weightBits[i] = Float.floatToRawIntBits(plan.slotWeight()[i]);
        }
        parts.add(weightBits);
        for (Tiles t : new Tiles[] {plan.sharedTiles(), plan.expertTiles()}) {
            for (TilePath path : TilePath.values()) {
                parts.add(t.of(path));
            }
        }
        long[] offsets = new long[parts.size()];
        long ints = 0;
        for (int i = 0; i < parts.size(); i++) {
            offsets[i] = ints;
            ints += (parts.get(i).length + SECTION_ALIGN - 1) / SECTION_ALIGN * SECTION_ALIGN;
        }
        MemorySegment host = hostTables.ensure(4 * Math.max(ints, 1)).segment();
        for (int i = 0; i < parts.size(); i++) {
            MemorySegment.copy(parts.get(i), 0, host, INT, 4 * offsets[i], parts.get(i).length);
        }
        CUdeviceptr base = tables.ensure(4 * Math.max(ints, 1));
        cuMemcpyHtoDAsync(base, hostTables.pointer(), 4 * Math.max(ints, 1), copy);
        cuEventRecord(tablesReady, copy);
        cuStreamWaitEvent(compute, tablesReady, 0);
        CUdeviceptr[] at = new CUdeviceptr[parts.size()];
        for (int i = 0; i < at.length; i++) {
            at[i] = base.withByteOffset(4 * offsets[i]);
        }
        int paths = TilePath.values().length;
        CUdeviceptr[] shared = new CUdeviceptr[paths];
        CUdeviceptr[] experts = new CUdeviceptr[paths];
        System.arraycopy(at, 5, shared, 0, paths);
        System.arraycopy(at, 5 + paths, experts, 0, paths);
        return new Sections(at[0], at[1], at[2], at[3], at[4], new PathPointers(shared), new PathPointers(experts));
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {hostInput, hostTables, hostResult, input, inputBf16, tables,
                sharedH, sharedOut, expertH, expertOut, result}) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("freeing GPU workspace failed: " + e, e);
            }
        }
        for (Object o : created) {
            switch (o) {
                case CUevent e -> cuEventDestroy(e);
                case CUstream s -> cuStreamDestroy(s);
                default -> throw new IllegalStateException("not a stream or event: " + o);
            }
        }
        created.clear();
    }
}
