package dev.afd.ffn.cuda;

/**
 * The device check's first step ({@code benchmarks/gpu/device-check.sh}): runs the CUDA probe, self-test included,
 * on the bundle's JVM and prints its verdict. Exit status: 0 with a usable GPU, {@link #NO_GPU} when there is no
 * GPU at all (no driver, or none visible), 1 when there is a GPU the backend cannot use (the self-test failed, the
 * kernels did not load, the compute capability is too old).
 */
public final class DeviceCheckProbe {
    /** device-check.sh's exit status for "no GPU here": distinct from a failed check. */
    static final int NO_GPU = 3;

    private DeviceCheckProbe() {}

    public static void main(String[] args) {
        long start = System.nanoTime();
        CudaProbe.Verdict verdict = CudaProbe.verdict();
        System.out.printf("java %s (%s); CUDA probe in %.1f s: %s%n", Runtime.version(),
                System.getProperty("java.home"), (System.nanoTime() - start) / 1e9, verdict.description());
        System.exit(verdict.available() ? 0 : verdict.noGpu() ? NO_GPU : 1);
    }
}
