package dev.afd.cli;

import dev.afd.ffn.BackendKind;
import dev.afd.ffn.BackendSelector;
import dev.afd.ffn.FfnServer;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertSet;
import dev.afd.ffn.cuda.CudaUnavailableException;
import dev.afd.model.family.ModelFamilies;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.transport.MutualTls;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code afd ffn}: serve a set of routed experts to attention nodes until SIGTERM or Ctrl-C, then drain. */
@Command(
        name = "ffn",
        mixinStandardHelpOptions = true,
        description = {"Run an ffn-node: hold a set of routed experts of every MoE layer, plus the shared expert"
                + " and the dense layers, and answer attention nodes' Exchange streams over gRPC until SIGTERM or"
                + " Ctrl-C."})
final class FfnCommand implements Callable<Integer> {
    private static final System.Logger LOG = System.getLogger(FfnCommand.class.getName());

    @Option(names = "--model", required = true, description = "Checkpoint folder (config.json, *.safetensors). Required; no default.")
    Path model;

    @Option(names = "--experts",
            description = "Routed experts this node holds: ranges and ids separated by commas (0-11,24-35), or all;"
                    + " within the model's experts. Sets may overlap across nodes: an expert on several nodes has"
                    + " replicas, and attention nodes spread its work over them and fail over between them."
                    + " Give this or --group-size; no default.")
    String experts;

    @Option(names = "--group-size", paramLabel = "G",
            description = "Instead of --experts: this node is one of a group of G nodes that together hold every"
                    + " expert once; it holds the (ordinal % G)-th of G equal contiguous ranges of the model's"
                    + " experts. No default.")
    Integer groupSize;

    @Option(names = "--ordinal",
            description = "This node's ordinal for --group-size. Default: the number after the last '-' of the host"
                    + " name, as in a StatefulSet pod (ffn-3 is 3).")
    Integer ordinal;

    @Option(names = "--drain-timeout-s", defaultValue = "30",
            description = "On SIGTERM, how long to keep answering while attention nodes move to other holders of"
                    + " this node's experts (it exits as soon as they have gone quiet). Default: ${DEFAULT-VALUE}.")
    int drainTimeoutS;

    @Mixin
    ListenMixin listen;

    @Mixin
    MetricsPortMixin metrics;

    @Mixin
    ExitWithMixin exitWith;

    @Option(names = "--backend", defaultValue = "auto",
            description = "Compute backend: auto, cpu or cuda. auto takes the GPU when one is usable (driver, compute"
                    + " capability 8.0+, bf16 weights that fit) and the CPU otherwise, logging why; cuda fails at"
                    + " start with the reason when the GPU is not usable. Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--prefault", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Read this node's weights (its experts, the shared experts, the dense layers) into memory"
                    + " at start, so the first frames do not wait for the disk (CPU backend; the CUDA backend reads"
                    + " them once anyway, to upload them). Default: ${DEFAULT-VALUE}.")
    boolean prefault;

    @Mixin
    TlsMixin tls;

    @Mixin
    LogFormatMixin logFormat;

    @Override
    public Integer call() throws Exception {
        logFormat.install();
        BackendKind kind = BackendKind.parse(backend);
        ExpertSet set = ExpertSet.parse(expertSet());
        MutualTls mutualTls = tls.tls();
        try (Checkpoint checkpoint = Checkpoint.open(model)) {
            BackendSelector.Selection selection;
            try {
                selection = BackendSelector.select(kind, checkpoint.config(), checkpoint.weights(), set);
            } catch (CudaUnavailableException e) {
                throw new IllegalArgumentException("--backend cuda: " + e.getMessage()
                        + "; use --backend auto or cpu to run on the CPU", e);
            }
            if (prefault && selection.backend() instanceof CpuFfnBackend cpu) {
                long bytes = cpu.prefault();
                LOG.log(System.Logger.Level.INFO, String.format(Locale.ROOT,
                        "read %.1f MiB of this node's weights into memory", bytes / 1048576.0));
            }
            FfnServer server = FfnServer.start(listen.host(), listen.port, checkpoint.config(), selection.backend(),
                    model.toString(), mutualTls);
            try {
                server.serveMetrics(listen.host(), metrics.port);
            } catch (IOException e) {
                server.close();
                throw e;
            }
            exitWith.watchParent();
            Runtime.getRuntime().addShutdownHook(new Thread(
                    () -> server.drainAndClose(Duration.ofSeconds(drainTimeoutS)), "afd-ffn-shutdown"));
            // Returns once the hook has closed the server, so the checkpoint is unmapped only after the last frame.
            server.awaitTermination();
            if (selection.backend() instanceof AutoCloseable gpu) {
                gpu.close();
            }
            if (server.failure() != null) {
                throw new IllegalStateException("the ffn-node stopped: " + server.failure(), server.failure());
            }
        }
        return 0;
    }

    /** The experts to hold: {@code --experts}, or this node's share of its group for {@code --group-size}. */
    private String expertSet() throws IOException {
        if ((experts == null) == (groupSize == null)) {
            throw new IllegalArgumentException("give exactly one of --experts (the experts this node holds) or"
                    + " --group-size (derive them from the node's ordinal)");
        }
        if (experts != null) {
            return experts;
        }
        int numExperts = ModelFamilies.read(model.resolve("config.json")).numExperts();
        int at = ordinal != null ? ordinal : GroupExperts.ordinal(GroupExperts.hostName());
        String set = GroupExperts.of(at, groupSize, numExperts).toString();
        LOG.log(System.Logger.Level.INFO, "ordinal " + at + " in groups of " + groupSize + ": position "
                + at % groupSize + " of its group, experts " + set + " of " + numExperts);
        return set;
    }
}
