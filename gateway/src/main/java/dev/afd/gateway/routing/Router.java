package dev.afd.gateway.routing;

import dev.afd.transport.MutualTls;
import io.netty.channel.EventLoopGroup;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Picks an attention node for each request. With prefix routing, the ready node that {@link PrefixAffinity} assigns
 * the prompt's first blocks to, so prompts that start alike meet their cached prefix, unless that node's queue is
 * {@value #OVERLOADED_BY} or more requests longer than the least-loaded node's: then, as without prefix routing (and
 * for prompts shorter than one block), the ready node with the least load (queue first, then KV usage). Nodes
 * come from a {@link Resolver}, looked up again every {@code resolveInterval} (new addresses join, gone ones leave
 * after their calls end); every node's load is polled every {@code loadInterval}, which also takes failing nodes out
 * and puts them back once they answer again.
 *
 * <p>Threading: one scheduler thread resolves and polls; {@link #pick} and the load views are safe from any thread.
 */
public final class Router implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Router.class.getName());

    /**
     * How much longer the preferred node's queue may be than the least-loaded node's before a prompt leaves its
     * prefix: a few queued requests cost less than computing a long prefix again, a growing queue does not.
     */
    public static final int OVERLOADED_BY = 4;

    /**
     * @param loadInterval how often each node's load is polled
     * @param resolveInterval how often the resolver is asked again
     * @param fingerprint the gateway's model fingerprint (nodes serving another model are not used), or null
     * @param prefixRouting send prompts that start alike to the same node (else always the least loaded)
     */
    public record Options(Duration loadInterval, Duration resolveInterval, String fingerprint, MutualTls tls,
            boolean prefixRouting) {
        public static Options defaults(String fingerprint) {
            return new Options(Duration.ofMillis(250), Duration.ofSeconds(5), fingerprint, null, true);
        }
    }

    private final Resolver resolver;
    private final Options options;
    private final EventLoopGroup group;
    private final Map<String, AttentionEndpoint> endpoints = new ConcurrentHashMap<>();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("afd-router").daemon().factory());
    private volatile String resolveError;

    /** @param group the event loop group the node channels run on; the caller owns it */
    public Router(Resolver resolver, Options options, EventLoopGroup group) {
        this.resolver = resolver;
        this.options = options;
        this.group = group;
    }

    /** Resolves the nodes, asks each for its load, and keeps doing both in the background. */
    public void start() {
        reconcile();
        refreshAll();
        long load = options.loadInterval().toMillis();
        long resolve = options.resolveInterval().toMillis();
        scheduler.scheduleWithFixedDelay(this::refreshAll, load, load, TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::reconcile, resolve, resolve, TimeUnit.MILLISECONDS);
    }

    /**
     * The node for a prompt (see the class comment), skipping {@code exclude}; null when none is ready.
     *
     * @param prompt the prompt's token ids
     */
    public AttentionEndpoint pick(List<Integer> prompt, Set<AttentionEndpoint> exclude) {
        AttentionEndpoint leastLoaded = null;
        AttentionEndpoint preferred = null;
        boolean byPrefix = options.prefixRouting() && PrefixAffinity.hasKey(prompt);
        long key = byPrefix ? PrefixAffinity.key(prompt) : 0;
        long bestWeight = Long.MIN_VALUE;
        for (AttentionEndpoint e : endpoints.values()) {
            if (!e.ready() || exclude.contains(e)) {
                continue;
            }
            if (leastLoaded == null || e.score() < leastLoaded.score()) {
                leastLoaded = e;
            }
            long weight = byPrefix ? PrefixAffinity.weight(key, e.target()) : 0;
            if (byPrefix && (preferred == null || weight > bestWeight)) {
                preferred = e;
                bestWeight = weight;
            }
        }
        if (preferred == null || preferred.score() >= leastLoaded.score() + OVERLOADED_BY) {
            return leastLoaded;
        }
        return preferred;
    }

    public boolean anyReady() {
        return endpoints.values().stream().anyMatch(AttentionEndpoint::ready);
    }

    public Collection<AttentionEndpoint> endpoints() {
        return List.copyOf(endpoints.values());
    }

    /** Why no node is ready: each node's reason, or the resolver's error. */
    public String notReadyReason() {
        if (endpoints.isEmpty()) {
            return "no attention node found at " + resolver.describe()
                    + (resolveError == null ? "" : " (" + resolveError + ")");
        }
        List<String> reasons = new ArrayList<>();
        for (AttentionEndpoint e : endpoints.values()) {
            reasons.add(e.target() + ": " + (e.ready() ? "ready" : e.notReadyReason()));
        }
        return String.join("; ", reasons);
    }

    /** Attention nodes the router may use now (serving, same model, answering). */
    public int readyNodes() {
        return (int) endpoints.values().stream().filter(AttentionEndpoint::ready).count();
    }

    private void refreshAll() {
        Duration deadline = options.loadInterval().multipliedBy(4).plusSeconds(1);
        for (AttentionEndpoint e : endpoints.values()) {
            e.refresh(deadline);
        }
    }

    /** Brings the endpoint set in line with the resolver's answer; an unresolvable name keeps the current set. */
    private void reconcile() {
        List<String> targets;
        try {
            targets = resolver.resolve();
            resolveError = null;
        } catch (Exception e) {
            if (!e.toString().equals(resolveError)) {
                LOG.log(Level.WARNING, "cannot resolve attention nodes at " + resolver.describe() + ": " + e
                        + "; keeping the " + endpoints.size() + " known");
            }
            resolveError = e.toString();
            return;
        }
        Set<String> wanted = new HashSet<>(targets);
        for (String t : targets) {
            endpoints.computeIfAbsent(t, target -> {
                LOG.log(Level.INFO, "attention node " + target + " added (" + resolver.describe() + ")");
                AttentionEndpoint e = new AttentionEndpoint(target, options.fingerprint(), options.tls(), group);
                e.refresh(options.loadInterval().plusSeconds(1));
                return e;
            });
        }
        for (String t : List.copyOf(endpoints.keySet())) {
            if (!wanted.contains(t)) {
                AttentionEndpoint gone = endpoints.remove(t);
                LOG.log(Level.INFO, "attention node " + t + " removed (no longer in " + resolver.describe() + ")");
                gone.close();
            }
        }
    }

    /** Stops polling and closes every channel, cancelling calls still running. */
    @Override
    public void close() {
        scheduler.shutdownNow();
        for (AttentionEndpoint e : endpoints.values()) {
            e.closeNow();
        }
        endpoints.clear();
    }
}
