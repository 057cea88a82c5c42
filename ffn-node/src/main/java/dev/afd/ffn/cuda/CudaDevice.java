package dev.afd.ffn.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * One GPU made ready for the backend: the driver initialised, the device's primary context current on the CUDA
 * thread, and the kernels loaded.
 *
 * <p>Ownership: owns the context reference and the module; {@link #close} releases them. Everything except
 * {@link #thread()} and the descriptive fields must be used on {@link #thread()}.
 */
final class CudaDevice implements AutoCloseable {
    /** bf16 WMMA needs compute capability 8.0 (Ampere) or newer. */
    static final int MIN_MAJOR = 8;

    private final CudaThread thread;
    private final CUdevice device;
    private final String name;
    private final int major;
    private final int minor;
    private final int multiprocessors;
    private final long totalBytes;
    private final FfnKernels kernels;

    private CudaDevice(CudaThread thread, CUdevice device, String name, int major, int minor, int multiprocessors,
            long totalBytes, FfnKernels kernels) {
        this.thread = thread;
        this.device = device;
        this.name = name;
        this.major = major;
        this.minor = minor;
        this.multiprocessors = multiprocessors;
        this.totalBytes = totalBytes;
        this.kernels = kernels;
    }

    /**
     * Initialises CUDA and GPU {@code ordinal} on the calling thread, which must be {@code thread}.
     *
     * @throws CudaUnavailableException naming the step that failed
     */
    static CudaDevice open(CudaThread thread, int ordinal) {
        thread.requireCurrent();
        try {
            // Turns every non-success result of a JCuda call into a CudaException naming the CUresult.
            JCudaDriver.setExceptionsEnabled(true);
        } catch (LinkageError e) {
            throw new CudaUnavailableException("JCuda's native driver binding did not load: " + messages(e), e);
        }
        try {
            cuInit(0);
        } catch (CudaException e) {
            throw CudaUnavailableException.noGpu("the CUDA driver did not initialise (" + e.getMessage()
                    + "); is a GPU visible to this process (CUDA_VISIBLE_DEVICES, container device access)?", e);
        }
        int[] value = new int[1];
        cuDeviceGetCount(value);
        if (value[0] <= ordinal) {
            throw CudaUnavailableException.noGpu("the CUDA driver sees " + value[0] + " GPUs, so there is no GPU "
                    + ordinal, null);
        }
        CUdevice device = new CUdevice();
        cuDeviceGet(device, ordinal);
        byte[] nameBytes = new byte[256];
        cuDeviceGetName(nameBytes, nameBytes.length, device);
        String name = new String(nameBytes, StandardCharsets.US_ASCII).trim(); // trim() drops the NUL padding
        int major = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        int minor = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        if (major < MIN_MAJOR) {
            throw new CudaUnavailableException("GPU " + ordinal + " (" + name + ") has compute capability " + major
                    + "." + minor + "; the kernels need " + MIN_MAJOR + ".0 or newer (bf16 tensor cores)");
        }
        int multiprocessors = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        long[] total = new long[1];
        cuDeviceTotalMem(total, device);
        CUcontext context = new CUcontext();
        cuDevicePrimaryCtxRetain(context, device);
        try {
            cuCtxSetCurrent(context);
            return new CudaDevice(thread, device, name, major, minor, multiprocessors, total[0],
                    FfnKernels.load(major, minor));
        } catch (RuntimeException e) {
            cuDevicePrimaryCtxRelease(device);
            throw e;
        }
    }

    private static int attribute(CUdevice device, int attribute) {
        int[] value = new int[1];
        cuDeviceGetAttribute(value, attribute, device);
        return value[0];
    }

    /** The message of a throwable and of each of its causes: a LinkageError's cause names the missing library. */
    static String messages(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(b.isEmpty() ? "" : ": caused by ").append(c.getMessage() == null ? c.toString() : c.getMessage());
        }
        return b.toString();
    }

    CudaThread thread() {
        return thread;
    }

    FfnKernels kernels() {
        return kernels;
    }

    int multiprocessors() {
        return multiprocessors;
    }

    int major() {
        return major;
    }

    int minor() {
        return minor;
    }

    /** Free device memory now. CUDA thread only. */
    long freeBytes() {
        long[] free = new long[1];
        long[] total = new long[1];
        cuMemGetInfo(free, total);
        return free[0];
    }

    /** For logs: name, compute capability, memory, multiprocessors, and the kernel binary in use. */
    String describe() {
        return String.format(Locale.ROOT, "%s (compute %d.%d, %.1f GiB, %d SMs, kernels from %s)", name, major,
                minor, totalBytes / (double) (1L << 30), multiprocessors, kernels.resource());
    }

    /** Unloads the kernels and releases the context. CUDA thread only. */
    @Override
    public void close() {
        kernels.close();
        cuDevicePrimaryCtxRelease(device);
    }
}
