package dev.afd.attention.ffn;

import dev.afd.model.config.Step3Config;
import dev.afd.model.ffn.Routing;
import dev.afd.model.step3.FfnException;
import dev.afd.model.step3.FfnExecutor;
import dev.afd.model.step3.FfnWork;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.HandshakeAccepted;
import dev.afd.proto.ResultFrame;
import dev.afd.proto.WireDtype;
import dev.afd.wire.RowCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The FFN half of every layer, computed by ffn-nodes: each micro-batch's rows go only to the nodes that hold their
 * experts, the dense-MLP / shared-expert work is spread evenly over the live nodes, and the weighted partial results
 * are summed per row.
 *
 * <p>Determinism: a row's shared work goes to node {@code position % liveNodes} and its experts to their fixed owners,
 * and partials are summed in node order, so a row's result does not depend on which other rows share its batch.
 *
 * <p>Threading: {@link #submit} runs on the engine thread; results are combined on transport threads.
 */
public final class DisaggregatedFfn implements FfnExecutor {
    private final Step3Config config;
    private final List<FfnLink> links;
    private final WireDtype requestDtype;
    private final WireDtype responseDtype;
    private final Duration deadline;
    private final ExchangeStats stats;

    /**
     * @param links the ffn-nodes, in the order their partials are summed
     * @param requestDtype wire dtype of activations sent (f32, bf16, fp8-e4m3)
     * @param responseDtype wire dtype of results (f32 or bf16)
     * @param deadline how long one layer exchange may take before its requests fail
     */
    public DisaggregatedFfn(Step3Config config, List<FfnLink> links, WireDtype requestDtype, WireDtype responseDtype,
            Duration deadline) {
        if (links.isEmpty()) {
            throw new IllegalArgumentException("at least one ffn-node is needed");
        }
        this.config = config;
        this.links = List.copyOf(links);
        this.requestDtype = requestDtype;
        this.responseDtype = responseDtype;
        this.deadline = deadline;
        this.stats = new ExchangeStats(Math.max(0, config.numExperts()));
    }

    public ExchangeStats stats() {
        return stats;
    }

    public List<FfnLink> links() {
        return links;
    }

    /** Streams re-established after failures, over every link. */
    public long reconnects() {
        return links.stream().mapToLong(FfnLink::reconnects).sum();
    }

    /** Why no step can run now (no live node, or experts nobody live holds), or {@code null} when all is covered. */
    public String unavailableReason() {
        List<FfnLink> live = links.stream().filter(FfnLink::live).toList();
        if (live.isEmpty()) {
            return "no ffn-node is connected (" + names(links) + "); waiting for them to come up";
        }
        for (int e = 0; e < config.numExperts() && !config.moeLayers().isEmpty(); e++) {
            if (owner(live, e) < 0) {
                int first = e;
                while (e + 1 < config.numExperts() && owner(live, e + 1) < 0) {
                    e++;
                }
                return "no live ffn-node holds experts " + first + "-" + e + " (nodes: " + names(links) + ")";
            }
        }
        return null;
    }

    @Override
    public CompletableFuture<float[]> submit(FfnWork work) {
        String unavailable = unavailableReason();
        if (unavailable != null) {
            return CompletableFuture.failedFuture(new FfnException(unavailable));
        }
        List<FfnLink> live = links.stream().filter(FfnLink::live).toList();
        stats.routed(work.batch().routing().experts());
        long start = System.nanoTime();
        int[] owners = owners(work.batch().routing(), live);
        List<Part> parts = new ArrayList<>(live.size());
        for (int n = 0; n < live.size(); n++) {
            Part part = part(work, live, n, owners);
            if (part != null) {
                parts.add(part);
            }
        }
        CompletableFuture<?>[] futures = parts.stream().map(p -> p.result).toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(futures).thenApply(ignored -> combine(work, parts, start));
    }

    /** For every routing slot, the index in {@code live} of the node holding its expert (-1 for none). */
    private static int[] owners(Routing routing, List<FfnLink> live) {
        int[] owners = new int[routing.experts().length];
        for (int s = 0; s < owners.length; s++) {
            owners[s] = owner(live, routing.experts()[s]);
        }
        return owners;
    }

    /**
     * The frame for node {@code n}: its share of shared/dense rows plus every row with a slot it owns, gathered
     * from the micro-batch and encoded in one pass.
     */
    private Part part(FfnWork work, List<FfnLink> live, int n, int[] owners) {
        int hidden = config.hiddenSize();
        Routing routing = work.batch().routing();
        int k = routing.k();
        int[] positions = work.positions();
        ActivationFrame.Builder frame = ActivationFrame.newBuilder();
        int[] rows = new int[work.rows()];
        int count = 0;
        for (int r = 0; r < work.rows(); r++) {
            boolean sharedHere = Math.floorMod(positions[r], live.size()) == n;
            boolean slotHere = false;
            for (int j = 0; j < k; j++) {
                slotHere |= owners[r * k + j] == n;
            }
            if (!sharedHere && !slotHere) {
                continue;
            }
            if (sharedHere) {
                frame.addSharedRows(count);
            }
            for (int j = 0; j < k; j++) {
                boolean mine = owners[r * k + j] == n;
                frame.addExpertIds(mine ? routing.experts()[r * k + j] : -1);
                frame.addExpertWeights(mine ? routing.weights()[r * k + j] : 0f);
            }
            rows[count++] = r;
        }
        if (count == 0) {
            return null;
        }
        rows = Arrays.copyOf(rows, count);
        RowCodec.Encoded encoded = RowCodec.encodeRows(requestDtype, work.batch().x(), rows, hidden);
        frame.setLayer(work.layer())
                .setMicroBatch(work.microBatch())
                .setStep(work.step())
                .setRows(count)
                .setHidden(hidden)
                .setK(k)
                .setDtype(requestDtype)
                .setData(encoded.data())
                .setRowScales(encoded.rowScales());
        FfnLink link = live.get(n);
        long sent = encoded.data().size() + encoded.rowScales().size();
        CompletableFuture<ResultFrame> result = link.send(frame)
                .orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS)
                .exceptionally(e -> {
                    throw failure(link, work, e);
                });
        return new Part(link, rows, sent, result);
    }

    private float[] combine(FfnWork work, List<Part> parts, long start) {
        int hidden = config.hiddenSize();
        float[] out = new float[work.rows() * hidden];
        long received = 0;
        long sent = 0;
        for (Part p : parts) {
            ResultFrame r = p.result.join();
            if (!r.getError().isEmpty()) {
                throw new FfnException(p.link.node() + " rejected layer " + work.layer() + ": " + r.getError());
            }
            float[] partial = RowCodec.decode(r.getDtype(), r.getData(), com.google.protobuf.ByteString.EMPTY,
                    p.rows.length, hidden);
            for (int i = 0; i < p.rows.length; i++) {
                int base = p.rows[i] * hidden;
                for (int d = 0; d < hidden; d++) {
                    out[base + d] += partial[i * hidden + d];
                }
            }
            received += r.getData().size();
            sent += p.sent;
        }
        stats.record(System.nanoTime() - start, sent, received);
        return out;
    }

    private FfnException failure(FfnLink link, FfnWork work, Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof FfnException f) {
            return f;
        }
        if (cause instanceof TimeoutException) {
            stats.timedOut();
            return new FfnException(link.node() + " did not answer layer " + work.layer() + " within "
                    + deadline.toMillis() + " ms");
        }
        return new FfnException(link.node() + " failed on layer " + work.layer() + ": " + cause.getMessage(), cause);
    }

    /** Index in {@code live} of the first node holding expert {@code e}, or -1. */
    private static int owner(List<FfnLink> live, int e) {
        for (int n = 0; n < live.size(); n++) {
            HandshakeAccepted a = live.get(n).accepted();
            if (a != null && e >= a.getFirstExpert() && e <= a.getLastExpert()) {
                return n;
            }
        }
        return -1;
    }

    private static String names(List<FfnLink> links) {
        return String.join(", ", links.stream().map(FfnLink::node).toList());
    }

    /** One node's share of a micro-batch: which rows of the work it answers for, and its pending answer. */
    private record Part(FfnLink link, int[] rows, long sent, CompletableFuture<ResultFrame> result) {}
}
