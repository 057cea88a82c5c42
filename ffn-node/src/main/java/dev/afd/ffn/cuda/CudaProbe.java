package dev.afd.ffn.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;

/**
 * Finds out, once per process, whether the CUDA backend can run here, and remembers the answer.
 *
 * <p>The steps, each of which names itself in the verdict when it fails: the driver library {@code libcuda.so.1}
 * loads; JCuda's native binding loads; {@code cuInit} succeeds; GPU 0 exists and has compute capability 8.0 or
 * newer; its primary context becomes current on a dedicated CUDA thread; the kernel module loads; and the
 * {@linkplain SelfTest self-test} computes the same small MoE layer as a Java reference.
 *
 * <p>The driver library is looked up first, with a plain {@code dlopen}, so that a machine without a driver never
 * touches JCuda (whose first use would otherwise unpack native libraries into the temp folder, throw
 * {@code UnsatisfiedLinkError}, and leave the class unusable for the rest of the process).
 *
 * <p>Ownership: a successful probe keeps the GPU's context and its CUDA thread for the life of the process; every
 * {@link CudaFfnBackend} shares them.
 */
public final class CudaProbe {
    private static final System.Logger LOG = System.getLogger(CudaProbe.class.getName());
    private static final String DRIVER_LIBRARY = "libcuda.so.1";

    private static Verdict verdict;
    private static CudaDevice device;

    private CudaProbe() {}

    /**
     * Whether the CUDA backend can run, and a description of the GPU or the reason it cannot.
     *
     * @param available the CUDA backend can run
     * @param noGpu there is no GPU at all (no driver, or none visible), as opposed to one that cannot be used
     * @param description the GPU (name, compute capability, memory, kernel binary) when available, else the
     *     reason, e.g. {@code no CUDA driver: libcuda.so.1 cannot be loaded (...)}
     */
    public record Verdict(boolean available, boolean noGpu, String description) {}

    /** Probes on first call (this may take a few seconds with a GPU); later calls return the same verdict. */
    public static synchronized Verdict verdict() {
        if (verdict == null) {
            verdict = probe();
            LOG.log(System.Logger.Level.DEBUG, "CUDA probe: {0}", verdict);
        }
        return verdict;
    }

    /**
     * The probed GPU.
     *
     * @throws CudaUnavailableException with the probe's reason when there is none
     */
    static synchronized CudaDevice device() {
        Verdict v = verdict();
        if (!v.available()) {
            throw new CudaUnavailableException(v.description());
        }
        return device;
    }

    private static Verdict probe() {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(DRIVER_LIBRARY, arena);
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return new Verdict(false, true, "no CUDA driver: " + DRIVER_LIBRARY + " cannot be loaded ("
                    + e.getMessage() + "); install the NVIDIA driver to use the GPU");
        }
        CudaThread thread = new CudaThread("afd-cuda-0");
        CudaDevice opened = null;
        try {
            opened = thread.call(() -> CudaDevice.open(thread, 0));
            CudaDevice d = opened;
            thread.call(() -> {
                SelfTest.run(d);
                return null;
            });
            device = opened;
            return new Verdict(true, false, opened.describe());
        } catch (CudaUnavailableException e) {
            release(thread, opened);
            return new Verdict(false, e.noGpu(), e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            release(thread, opened);
            return new Verdict(false, false, "the CUDA probe failed: " + CudaDevice.messages(e));
        }
    }

    private static void release(CudaThread thread, CudaDevice opened) {
        if (opened != null) {
            try {
                thread.call(() -> {
                    opened.close();
                    return null;
                });
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "releasing the GPU after a failed probe failed too", e);
            }
        }
        thread.close();
    }
}
