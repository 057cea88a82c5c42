package dev.afd.ffn.cuda;

/**
 * The CUDA backend cannot run here; the message says why (no driver, no suitable GPU, kernels that did not load,
 * weights it cannot take, too little GPU memory) and what to do about it.
 */
public final class CudaUnavailableException extends RuntimeException {
    private final boolean noGpu;

    public CudaUnavailableException(String reason) {
        this(reason, null);
    }

    public CudaUnavailableException(String reason, Throwable cause) {
        this(reason, cause, false);
    }

    private CudaUnavailableException(String reason, Throwable cause, boolean noGpu) {
        super(reason, cause);
        this.noGpu = noGpu;
    }

    /** No GPU at all (no driver, or a driver that sees no device), as opposed to a GPU that cannot be used. */
    static CudaUnavailableException noGpu(String reason, Throwable cause) {
        return new CudaUnavailableException(reason, cause, true);
    }

    /** Whether the reason is that there is no GPU at all, rather than one the backend cannot use. */
    public boolean noGpu() {
        return noGpu;
    }
}
