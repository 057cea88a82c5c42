package dev.afd.attention.ffn;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.ffn.FfnException;
import dev.afd.model.ffn.FfnExecutor;
import dev.afd.model.ffn.FfnWork;
import dev.afd.proto.WireDtype;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The FFN half of every layer, computed by ffn-nodes that may hold overlapping sets of experts (replicas). Each
 * micro-batch's work is cut into units (a row's shared expert or dense MLP, and each of its routed slots), placed on
 * the live nodes that hold them with the load balanced ({@link Holders}), and gathered back; a node that fails
 * mid-layer has its units re-sent to other holders ({@link LayerExchange}).
 *
 * <p>Determinism (the combine rule): a row's result is its units' results added in a fixed order: shared expert
 * (or dense MLP) first, then routed slot 0, 1, ..., each unit computed on its own by whichever node took it. With
 * batch-invariant kernels a unit is the same bits on every holder, so with f32 wire and responses a row's result
 * depends neither on which nodes served it nor on which other rows shared its batch.
 *
 * <p>Threading: {@link #submit} runs on the engine thread; results are combined on transport threads.
 */
public final class DisaggregatedFfn implements FfnExecutor {
    /** How long a node that missed a deadline is avoided where another holder can take its units. */
    static final Duration LATE_PENALTY = Duration.ofSeconds(10);

    private final ModelConfig config;
    private final FfnMembers members;
    private final LayerExchange.Settings settings;
    private final ExchangeStats stats;
    /** Nodes that recently missed a deadline, until when ({@link System#nanoTime()}). */
    private final Map<FfnLink, Long> lateUntil = new ConcurrentHashMap<>();
    /** Exchanges started, to rotate where ties between equally loaded nodes start. */
    private final AtomicInteger exchanges = new AtomicInteger();

    /**
     * @param members the ffn-nodes (a fixed list, or the current members of a DNS-driven tier), read once per layer
     *     exchange
     * @param requestDtype wire dtype of activations sent (f32, bf16, fp8-e4m3)
     * @param responseDtype wire dtype of results (f32 or bf16)
     * @param deadline how long one node may take to answer one layer before its units go elsewhere
     */
    public DisaggregatedFfn(ModelConfig config, FfnMembers members, WireDtype requestDtype,
            WireDtype responseDtype, Duration deadline) {
        this.config = config;
        this.members = members;
        this.stats = new ExchangeStats(Math.max(0, config.numExperts()));
        this.settings = new LayerExchange.Settings(config.hiddenSize(), requestDtype, deadline, stats,
                link -> lateUntil.put(link, System.nanoTime() + LATE_PENALTY.toNanos()));
    }

    /** A fixed set of ffn-nodes. */
    public DisaggregatedFfn(ModelConfig config, List<FfnLink> links, WireDtype requestDtype, WireDtype responseDtype,
            Duration deadline) {
        this(config, FfnMembers.fixed(links), requestDtype, responseDtype, deadline);
    }

    public ExchangeStats stats() {
        return stats;
    }

    /** The ffn-nodes now, connected or not. */
    public List<FfnLink> links() {
        return members.links();
    }

    /** The membership this FFN draws its nodes from; its owner closes it. */
    public FfnMembers members() {
        return members;
    }

    /** Streams re-established after failures, over every link. */
    public long reconnects() {
        return links().stream().mapToLong(FfnLink::reconnects).sum();
    }

    /** The links' and the membership's counters, for the node's load report. */
    public ExchangeStats.Tier tier() {
        List<FfnLink> all = links();
        return new ExchangeStats.Tier(all.stream().mapToLong(FfnLink::reconnects).sum(),
                all.stream().mapToLong(FfnLink::drains).sum(), all.size(), members.changes());
    }

    /** Why no step can run now (no live node, or experts nobody live holds), or {@code null} when all is covered. */
    public String unavailableReason() {
        List<FfnLink> all = links();
        List<FfnLink> live = all.stream().filter(FfnLink::live).toList();
        if (live.isEmpty()) {
            return "no ffn-node is connected (" + names(all) + "); waiting for them to come up";
        }
        if (config.moeLayers().isEmpty()) {
            return null;
        }
        String unheld = new Holders(live, List.of(), l -> true, config.numExperts(), 0).unheld(Set.of());
        return unheld == null ? null : "no live ffn-node holds experts " + unheld + " (nodes: " + names(all) + ")";
    }

    @Override
    public CompletableFuture<float[]> submit(FfnWork work) {
        // One snapshot per exchange: a link that drops meanwhile fails over, it never leaves units unplaced.
        List<FfnLink> all = links();
        List<FfnLink> live = all.stream().filter(FfnLink::live).toList();
        if (live.isEmpty()) {
            return CompletableFuture.failedFuture(new FfnException(unavailableReason()));
        }
        stats.routed(work.batch().routing().experts());
        long now = System.nanoTime();
        lateUntil.values().removeIf(until -> until - now <= 0);
        Holders holders = new Holders(live, all.stream().filter(l -> !l.live()).toList(),
                link -> !link.draining() && lateUntil.getOrDefault(link, now) - now <= 0, config.numExperts(),
                exchanges.getAndIncrement());
        return LayerExchange.start(work, holders, settings);
    }

    private static String names(List<FfnLink> links) {
        return links.isEmpty() ? "none" : String.join(", ", links.stream().map(FfnLink::node).toList());
    }
}
