package dev.afd.attention.ffn;

import com.google.protobuf.ByteString;
import dev.afd.model.ffn.FfnException;
import dev.afd.model.ffn.FfnWork;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.ResultFrame;
import dev.afd.proto.WireDtype;
import dev.afd.wire.RowCodec;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One layer's FFN for one micro-batch, across the ffn-nodes: its units are placed on holders ({@link Holders}), sent
 * as one frame per node, and their results gathered; a node that fails (stream lost, error, deadline missed) has
 * its units sent again to other holders, so the step goes on while every expert keeps a holder. Only when some unit
 * has no node left does the exchange fail, naming the experts and the nodes tried.
 *
 * <p>Threading: started on the engine thread; results and failures arrive on transport threads. Every field is
 * guarded by {@code this}, and frames are sent under it too (a link's {@code send} only queues the frame), so a
 * failover's re-sends cannot interleave with the answers of the same exchange. Each part is answered exactly once:
 * a part that missed its deadline is failed over, and its late answer is dropped by the timeout future.
 */
final class LayerExchange {
    private static final System.Logger LOG = System.getLogger(LayerExchange.class.getName());

    /** What an exchange needs from its owner: wire settings, the deadline, and where counters go. */
    record Settings(int hidden, WireDtype requestDtype, Duration deadline, ExchangeStats stats,
            Consumer<FfnLink> late) {}

    private final FfnWork work;
    private final FfnUnits units;
    private final Holders holders;
    private final Settings settings;
    private final float[] unitResults;
    /** Per row, the place of the last unit a node already added into the row's first result (see FfnUnits). */
    private final int[] summedThrough;
    private final Set<FfnLink> failed = new HashSet<>();
    private final CompletableFuture<float[]> result = new CompletableFuture<>();
    private final long start = System.nanoTime();
    private int pending;
    private long sent;
    private long received;

    private LayerExchange(FfnWork work, FfnUnits units, Holders holders, Settings settings) {
        this.work = work;
        this.units = units;
        this.holders = holders;
        this.settings = settings;
        this.unitResults = new float[units.count() * settings.hidden()];
        this.summedThrough = new int[units.count() / units.perRow()];
        this.pending = units.count();
    }

    /** Places and sends every unit of {@code work}; the future completes with the combined {@code rows × hidden}. */
    static CompletableFuture<float[]> start(FfnWork work, Holders holders, Settings settings) {
        FfnUnits units = FfnUnits.of(work.batch());
        LayerExchange exchange = new LayerExchange(work, units, holders, settings);
        int[] all = new int[units.count()];
        Arrays.setAll(all, u -> u);
        synchronized (exchange) {
            exchange.dispatch(all);
        }
        return exchange.result;
    }

    /** Places {@code unitIds} on nodes that have not failed this exchange, and sends each node its frame. */
    private void dispatch(int[] unitIds) {
        List<int[]> placement;
        try {
            placement = holders.place(units, unitIds, failed);
        } catch (Holders.NoHolderException e) {
            String unheld = holders.unheld(failed);
            fail(new FfnException("no live ffn-node can compute experts " + e.getMessage() + " of layer "
                    + work.layer() + (unheld == null ? "" : " (no live node holds experts " + unheld + ")")
                    + (failed.isEmpty() ? "" : "; failed this step: " + names(failed))
                    + (holders.down().isEmpty() ? "" : "; not connected: " + names(holders.down()))
                    + "; live: " + names(holders.links())));
            return;
        }
        for (int n = 0; n < placement.size(); n++) {
            if (placement.get(n).length > 0) {
                send(holders.links().get(n), placement.get(n));
            }
        }
    }

    private void send(FfnLink link, int[] unitIds) {
        int[] rows = distinctRows(unitIds);
        ActivationFrame.Builder frame = ActivationFrame.newBuilder()
                .setLayer(work.layer())
                .setMicroBatch(work.microBatch())
                .setStep(work.step())
                .setRows(rows.length)
                .setHidden(settings.hidden())
                .setDtype(settings.requestDtype());
        int at = 0;
        for (int u : unitIds) {
            int row = units.row(u);
            while (rows[at] != row) {
                at++;
            }
            frame.addUnitRows(at).addUnitExperts(units.experts()[u]).addUnitWeights(units.weights()[u]);
        }
        int[] groups = groups(unitIds);
        for (int g : groups) {
            frame.addGroupSizes(g);
        }
        RowCodec.Encoded encoded = RowCodec.encodeRows(settings.requestDtype(), work.batch().x(), rows,
                settings.hidden());
        frame.setData(encoded.data()).setRowScales(encoded.rowScales());
        sent += encoded.data().size() + encoded.rowScales().size();
        settings.stats().holderUnits(link.node(), routedUnits(unitIds));
        long sentAt = System.nanoTime();
        AnswerDeadlines.watch(link.send(frame), settings.deadline())
                .whenComplete((r, e) -> {
                    if (e == null) {
                        settings.stats().partAnswered(System.nanoTime() - sentAt - r.getComputeNanos());
                    }
                    answered(link, unitIds, groups, r, e);
                });
    }

    private synchronized void answered(FfnLink link, int[] unitIds, int[] groups, ResultFrame r, Throwable e) {
        if (result.isDone()) {
            return;
        }
        String problem = e != null ? describe(link, e) : !r.getError().isEmpty()
                ? link.node() + " rejected layer " + work.layer() + ": " + r.getError()
                : r.getRows() != groups.length ? link.node() + " answered " + r.getRows() + " results of layer "
                        + work.layer() + " for " + groups.length + " asked"
                : null;
        if (problem != null) {
            failOver(link, unitIds, problem);
            return;
        }
        int hidden = settings.hidden();
        float[] partial = RowCodec.decode(r.getDtype(), r.getData(), ByteString.EMPTY, groups.length, hidden);
        int i = 0;
        for (int g = 0; g < groups.length; g++) {
            int first = unitIds[i];
            System.arraycopy(partial, g * hidden, unitResults, first * hidden, hidden);
            if (groups[g] > 1) {
                summedThrough[units.row(first)] = units.place(unitIds[i + groups[g] - 1]);
            }
            i += groups[g];
        }
        received += r.getData().size();
        pending -= unitIds.length;
        if (pending == 0) {
            float[] out = units.combine(unitResults, summedThrough, hidden);
            settings.stats().record(System.nanoTime() - start, sent, received);
            result.complete(out);
        }
    }

    /** A node failed its part: the units go to other holders, or the exchange fails when none is left. */
    private void failOver(FfnLink link, int[] unitIds, String problem) {
        failed.add(link);
        settings.stats().failedOver();
        LOG.log(Level.WARNING, problem + "; sending its " + unitIds.length + " units of layer " + work.layer()
                + " to other nodes");
        dispatch(unitIds);
    }

    private String describe(FfnLink link, Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof TimeoutException) {
            settings.stats().timedOut();
            settings.late().accept(link);
            return link.node() + " did not answer layer " + work.layer() + " within "
                    + settings.deadline().toMillis() + " ms";
        }
        return cause instanceof FfnException ? cause.getMessage()
                : link.node() + " failed on layer " + work.layer() + ": " + cause.getMessage();
    }

    private void fail(FfnException e) {
        result.completeExceptionally(e);
    }

    /**
     * How the node should add up {@code unitIds} (ascending): a row's run of consecutive units that starts with its
     * first unit is one group (the node adds it, as the fixed order would), every other unit a group of its own.
     */
    private int[] groups(int[] unitIds) {
        int[] groups = new int[unitIds.length];
        int count = 0;
        for (int i = 0; i < unitIds.length; ) {
            int size = 1;
            if (units.place(unitIds[i]) == 0) {
                while (i + size < unitIds.length && unitIds[i + size] == unitIds[i] + size
                        && units.row(unitIds[i + size]) == units.row(unitIds[i])) {
                    size++;
                }
            }
            groups[count++] = size;
            i += size;
        }
        return Arrays.copyOf(groups, count);
    }

    /** The rows {@code unitIds} belong to, ascending, each once. */
    private int[] distinctRows(int[] unitIds) {
        int[] rows = new int[unitIds.length];
        int count = 0;
        for (int u : unitIds) {
            int row = units.row(u);
            if (count == 0 || rows[count - 1] != row) {
                rows[count++] = row;
            }
        }
        return Arrays.copyOf(rows, count);
    }

    private int routedUnits(int[] unitIds) {
        int n = 0;
        for (int u : unitIds) {
            n += units.experts()[u] >= 0 ? 1 : 0;
        }
        return n;
    }

    private static String names(Iterable<FfnLink> links) {
        List<String> out = new ArrayList<>();
        links.forEach(l -> out.add(l.node()));
        return out.isEmpty() ? "none" : String.join(", ", out);
    }
}
