package dev.afd.ffn.cuda;

/**
 * The CUDA backend cannot run here; the message says why (no driver, no suitable GPU, kernels that did not load,
 * weights it cannot take, too little GPU memory) and what to do about it.
 */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String reason) {
        super(reason);
    }

    public CudaUnavailableException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
