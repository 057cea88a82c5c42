package dev.afd.ffn.core;

import dev.afd.model.config.Step3Config;
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
import java.util.BitSet;
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

    private final Step3Config config;
    private final FfnBackend backend;
    private final Supplier<String> node;
    private final String fingerprint;

    /**
     * @param node this node's name for messages, e.g. {@code "ffn 10.0.0.7:7101"}; read at each handshake, since
     *     a server learns its port only once it is bound
     */
    public FrameProcessor(Step3Config config, FfnBackend backend, Supplier<String> node) {
        this.config = config;
        this.backend = backend;
        this.node = node;
        this.fingerprint = config.fingerprint();
    }

    public FrameProcessor(Step3Config config, FfnBackend backend, String node) {
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
                .setFirstExpert(backend.experts().first())
                .setLastExpert(backend.experts().last())
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
        String problem = check(frame);
        if (problem != null) {
            return error(frame, responseDtype, problem);
        }
        int rows = frame.getRows();
        float[] result;
        try {
            float[] x = RowCodec.decode(frame.getDtype(), frame.getData(), frame.getRowScales(), rows,
                    frame.getHidden());
            int[] sharedRows = new int[frame.getSharedRowsCount()];
            Arrays.setAll(sharedRows, frame::getSharedRows);
            int[] expertIds = new int[frame.getExpertIdsCount()];
            Arrays.setAll(expertIds, frame::getExpertIds);
            float[] expertWeights = new float[frame.getExpertWeightsCount()];
            for (int i = 0; i < expertWeights.length; i++) {
                expertWeights[i] = frame.getExpertWeights(i);
            }
            result = backend.compute(new FfnBatch(frame.getLayer(), x, frame.getHidden(), sharedRows,
                    new Routing(rows, frame.getK(), expertIds, expertWeights)));
        } catch (IllegalArgumentException e) {
            return error(frame, responseDtype, e.getMessage());
        }
        RowCodec.Encoded encoded = RowCodec.encode(responseDtype, result, 0, rows, config.hiddenSize());
        return ResultFrame.newBuilder()
                .setId(frame.getId())
                .setRows(rows)
                .setDtype(responseDtype)
                .setData(encoded.data())
                .build();
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
        boolean moe = config.isMoeLayer(f.getLayer());
        int k = moe ? config.topK() : 0;
        if (f.getK() != k) {
            return "k is " + f.getK() + " but layer " + f.getLayer() + (moe ? " is a MoE layer with top-" + k
                    : " is dense, which takes k = 0");
        }
        long slots = (long) f.getRows() * k;
        if (f.getExpertIdsCount() != slots || f.getExpertWeightsCount() != slots) {
            return "expert_ids and expert_weights need rows × k = " + f.getRows() + " × " + k + " = " + slots
                    + " entries each, got " + f.getExpertIdsCount() + " and " + f.getExpertWeightsCount();
        }
        BitSet seen = new BitSet();
        for (int i = 0; i < f.getSharedRowsCount(); i++) {
            int r = f.getSharedRows(i);
            if (r < 0 || r >= f.getRows()) {
                return "shared_rows names row " + r + " but the frame has rows 0-" + (f.getRows() - 1);
            }
            if (seen.get(r)) {
                return "shared_rows names row " + r + " twice";
            }
            seen.set(r);
        }
        return null;
    }

    private ResultFrame error(ActivationFrame f, WireDtype responseDtype, String problem) {
        String message = "frame " + f.getId() + " (layer " + f.getLayer() + ", micro-batch " + f.getMicroBatch()
                + ", step " + f.getStep() + "): " + problem;
        LOG.log(System.Logger.Level.DEBUG, "answering a bad frame with an error: {0}", message);
        return ResultFrame.newBuilder()
                .setId(f.getId())
                .setRows(f.getRows())
                .setDtype(responseDtype)
                .setError(message)
                .build();
    }
}
