package dev.afd.ffn.cuda;

import static jcuda.driver.JCudaDriver.cuModuleLoadData;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import jcuda.CudaException;
import jcuda.driver.CUmodule;

/**
 * Loads a module built by {@code src/main/cuda/build-ptx.sh} from the class path ({@code cuda/NAME.*}): the cubin
 * made for the GPU's architecture when there is one (sm_80 serves every 8.x GPU, sm_90 the 9.0 ones), else the
 * PTX, which the driver compiles for the GPU at load time.
 */
final class CudaModules {
    private CudaModules() {}

    /** A loaded module and the resource it came from, for logs. */
    record Loaded(CUmodule module, String resource) {}

    /**
     * Loads module {@code name} on the current context. CUDA thread only.
     *
     * @throws CudaUnavailableException when neither binary loads, with the driver's errors
     */
    static Loaded load(String name, int ccMajor, int ccMinor) {
        String cubinError = "";
        String arch = switch (ccMajor) {
            case 8 -> "sm_80";
            case 9 -> ccMinor == 0 ? "sm_90" : null;
            default -> null;
        };
        if (arch != null) {
            String resource = "cuda/" + name + "." + arch + ".cubin";
            try {
                CUmodule module = new CUmodule();
                cuModuleLoadData(module, bytes(resource));
                return new Loaded(module, resource);
            } catch (CudaException e) {
                cubinError = resource + ": " + e.getMessage() + "; ";
            }
        }
        String resource = "cuda/" + name + ".ptx";
        byte[] ptx = bytes(resource);
        try {
            CUmodule module = new CUmodule();
            // PTX is text that the driver reads up to its terminating NUL.
            cuModuleLoadData(module, Arrays.copyOf(ptx, ptx.length + 1));
            return new Loaded(module, resource);
        } catch (CudaException e) {
            throw new CudaUnavailableException("the CUDA kernels did not load on a compute capability " + ccMajor
                    + "." + ccMinor + " GPU: " + cubinError + resource + ": " + e.getMessage()
                    + "; the PTX is PTX ISA 9.0 from CUDA 13.0, so the driver must support CUDA 13.0 or newer", e);
        }
    }

    private static byte[] bytes(String resource) {
        try (InputStream in = CudaModules.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is missing from the class path; run"
                        + " ffn-node/src/main/cuda/build-ptx.sh and rebuild");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }
}
