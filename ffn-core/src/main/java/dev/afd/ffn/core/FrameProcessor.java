package dev.afd.ffn.core;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.Routing;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.Handshake;
import dev.afd.proto.HandshakeAccepted;
import dev.afd.proto.ResultFrame;
import dev.afd.proto.WireDtype;
import dev.afd.wire.RowCodec;
import dev.afd.wire.WireFormat;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The transport-independent core of an ffn-node: checks handshakes, and turns an {@link ActivationFrame} into its
 * {@link ResultFrame} (decode, compute, encode). The gRPC service and the in-process transport of a single-process
 * run both go through here, so both compute bit for bit the same.
 *
 * <p>A bad frame is answered, not thrown: the result carries an {@code error} naming what was wrong, and the
 * caller's stream stays usable.
 *
 * <p>Threading: stateless; any thread may call any method, also concurrently.
 */
public final class FrameProcessor {
    private static final System.Logger LOG = System.getLogger(FrameProcessor.class.getName());

    private final ModelConfig config;
    private final FfnBackend backend;
    private final Supplier<String> node;
    private final String fingerprint;

    /**
     * @param node this node's name for messages, e.g. {@code "ffn 10.0.0.7:7101"}; read at each handshake, since
     *     a server learns its port only once it is bound
     */
    public FrameProcessor(ModelConfig config, FfnBackend backend, Supplier<String> node) {
        this.config = config;
        this.backend = backend;
        this.node = node;
        this.fingerprint = config.fingerprint();
    }

    public FrameProcessor(ModelConfig config, FfnBackend backend, String node) {
        this(config, backend, () -> node);
    }

    public String node() {
        return node.get();
    }

    /**
     * Accepts a client whose model and wire dtypes fit this node.
     *
     * @throws HandshakeRefusedException naming both sides and what differs
     */
    public HandshakeAccepted accept(Handshake h) throws HandshakeRefusedException {
        String client = h.getClient().isBlank() ? "an unnamed client" : h.getClient();
        if (!h.getModelFingerprint().equals(fingerprint)) {
            throw new HandshakeRefusedException(client + " has model fingerprint " + h.getModelFingerprint()
                    + " but " + node() + " serves " + fingerprint + "; start both with the same checkpoint");
        }
        if (!WireFormat.isRequest(h.getRequestDtype())) {
            throw new HandshakeRefusedException(client + " sends activations as "
                    + WireFormat.label(h.getRequestDtype()) + " but " + node() + " accepts "
                    + WireFormat.choices(false));
        }
        if (!WireFormat.isResponse(h.getResponseDtype())) {
            throw new HandshakeRefusedException(client + " asks for results as "
                    + WireFormat.label(h.getResponseDtype()) + " but " + node() + " answers in "
                    + WireFormat.choices(true));
        }
        return HandshakeAccepted.newBuilder()
                .setModelFingerprint(fingerprint)
                .addAllExperts(Arrays.stream(backend.experts().ids()).boxed().toList())
                .setNode(node())
                .setBackend(backend.name())
                .build();
    }

    /**
     * Computes a frame's result in {@code responseDtype}, or answers with {@code error} set when the frame is bad.
     *
     * @param responseDtype f32 or bf16, as agreed in the handshake
     * @throws IllegalArgumentException for a response dtype no handshake can agree on
     */
    public ResultFrame process(ActivationFrame frame, WireDtype responseDtype) {
        if (!WireFormat.isResponse(responseDtype)) {
            throw new IllegalArgumentException("results go out as " + WireFormat.choices(true) + ", not "
                    + WireFormat.label(responseDtype));
        }
        long start = System.nanoTime();
        String problem = check(frame);
        if (problem != null) {
            return error(frame, responseDtype, problem);
        }
        float[] result;
        try {
            result = groupSums(frame, backend.compute(unitBatch(frame)));
        } catch (IllegalArgumentException e) {
            return error(frame, responseDtype, e.getMessage());
        }
        int rows = resultRows(frame);
        RowCodec.Encoded encoded = RowCodec.encode(responseDtype, result, 0, rows, config.hiddenSize());
        return ResultFrame.newBuilder()
                .setId(frame.getId())
                .setRows(rows)
                .setDtype(responseDtype)
                .setData(encoded.data())
                .setComputeNanos(System.nanoTime() - start)
                .build();
    }

    private static int resultRows(ActivationFrame f) {
        return f.getGroupSizesCount() == 0 ? f.getUnitRowsCount() : f.getGroupSizesCount();
    }

    /**
     * Each group's unit results added in order, from the first (exactly the additions the attention node would make
     * for those units); the unit results themselves when the frame has no groups.
     */
    private static float[] groupSums(ActivationFrame frame, float[] units) {
        if (frame.getGroupSizesCount() == 0) {
            return units;
        }
        int hidden = frame.getHidden();
        float[] out = new float[frame.getGroupSizesCount() * hidden];
        int unit = 0;
        for (int g = 0; g < frame.getGroupSizesCount(); g++) {
            System.arraycopy(units, unit * hidden, out, g * hidden, hidden);
            for (int j = 1; j < frame.getGroupSizes(g); j++) {
                int from = (unit + j) * hidden;
                for (int d = 0; d < hidden; d++) {
                    out[g * hidden + d] += units[from + d];
                }
            }
            unit += frame.getGroupSizes(g);
        }
        return out;
    }

    /**
     * The frame's units as a batch with one row per unit: a shared (or dense) unit is a shared row without routed
     * slots, a routed unit a row with its one slot. Each unit's result is then exactly its own term of the row's
     * FFN output, which the attention node adds up in a fixed order.
     */
    private FfnBatch unitBatch(ActivationFrame frame) {
        int hidden = frame.getHidden();
        int units = frame.getUnitRowsCount();
        float[] x = RowCodec.decode(frame.getDtype(), frame.getData(), frame.getRowScales(), frame.getRows(), hidden);
        float[] unitX = new float[units * hidden];
        boolean moe = config.isMoeLayer(frame.getLayer());
        int[] experts = new int[moe ? units : 0];
        float[] weights = new float[moe ? units : 0];
        int[] shared = new int[units];
        int sharedCount = 0;
        for (int u = 0; u < units; u++) {
            System.arraycopy(x, frame.getUnitRows(u) * hidden, unitX, u * hidden, hidden);
            int e = frame.getUnitExperts(u);
            if (e < 0) {
                shared[sharedCount++] = u;
            }
            if (moe) {
                experts[u] = e;
                weights[u] = frame.getUnitWeights(u);
            }
        }
        Routing routing = moe ? new Routing(units, 1, experts, weights) : Routing.none(units);
        return new FfnBatch(frame.getLayer(), unitX, hidden, Arrays.copyOf(shared, sharedCount), routing);
    }

    /** What is wrong with the frame's header, or null. Data sizes and expert ids are checked on the way in. */
    private String check(ActivationFrame f) {
        if (!WireFormat.isRequest(f.getDtype())) {
            return "dtype " + WireFormat.label(f.getDtype()) + " is not one of " + WireFormat.list();
        }
        if (f.getLayer() < 0 || f.getLayer() >= config.numLayers()) {
            return "layer " + f.getLayer() + " does not exist; the model has layers 0-" + (config.numLayers() - 1);
        }
        if (f.getHidden() != config.hiddenSize()) {
            return "hidden is " + f.getHidden() + " but the model's hidden size is " + config.hiddenSize();
        }
        if (f.getRows() < 0) {
            return "rows is " + f.getRows();
        }
        int units = f.getUnitRowsCount();
        if (f.getUnitExpertsCount() != units || f.getUnitWeightsCount() != units) {
            return "unit_rows, unit_experts and unit_weights need one entry per unit each, got " + units + ", "
                    + f.getUnitExpertsCount() + " and " + f.getUnitWeightsCount();
        }
        long grouped = 0;
        for (int g = 0; g < f.getGroupSizesCount(); g++) {
            if (f.getGroupSizes(g) < 1) {
                return "group " + g + " has " + f.getGroupSizes(g) + " units; every group has at least one";
            }
            grouped += f.getGroupSizes(g);
        }
        if (f.getGroupSizesCount() > 0 && grouped != units) {
            return "group_sizes add up to " + grouped + " units but the frame has " + units;
        }
        boolean moe = config.isMoeLayer(f.getLayer());
        for (int u = 0; u < units; u++) {
            int r = f.getUnitRows(u);
            if (r < 0 || r >= f.getRows()) {
                return "unit " + u + " names row " + r + " but the frame has rows 0-" + (f.getRows() - 1);
            }
            if (!moe && f.getUnitExperts(u) >= 0) {
                return "unit " + u + " names expert " + f.getUnitExperts(u) + " but layer " + f.getLayer()
                        + " is dense: its units are the dense MLP (expert -1)";
            }
        }
        return null;
    }

    private ResultFrame error(ActivationFrame f, WireDtype responseDtype, String problem) {
        String message = "frame " + f.getId() + " (layer " + f.getLayer() + ", micro-batch " + f.getMicroBatch()
                + ", step " + f.getStep() + "): " + problem;
        LOG.log(System.Logger.Level.DEBUG, "answering a bad frame with an error: {0}", message);
        return ResultFrame.newBuilder()
                .setId(f.getId())
                .setRows(resultRows(f))
                .setDtype(responseDtype)
                .setError(message)
                .build();
    }
}
