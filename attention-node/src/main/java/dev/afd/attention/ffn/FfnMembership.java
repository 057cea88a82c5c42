package dev.afd.attention.ffn;

import java.lang.System.Logger.Level;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;

/**
 * The ffn-nodes behind a list of {@code host:port} or {@code name:port} entries: every address a name resolves to is
 * a member (a Kubernetes headless service lists one address per ready pod). Names are resolved again every refresh
 * interval: a new address gets a link, which handshakes and takes work as soon as it is up; an address gone from DNS
 * leaves the members at once (no new frames) and its link is closed once its frames in flight are answered.
 *
 * <p>Where a name has IPv4 addresses only those are used, so a dual-stack name ({@code localhost}) is one member, not
 * two. The JVM's own DNS cache would hide changes for 30 s by default; {@code afd} lowers it (see the CLI), and
 * tests pass their own resolver.
 *
 * <p>Threading: refreshes run on the given scheduler; {@link #links()} returns an immutable snapshot to any thread.
 */
public final class FfnMembership implements FfnMembers {
    private static final System.Logger LOG = System.getLogger(FfnMembership.class.getName());

    /** Resolves a host name to its addresses (IP literals to themselves). */
    @FunctionalInterface
    public interface Resolver {
        List<InetAddress> resolve(String host) throws UnknownHostException;

        /** The system's resolver (through the JVM's DNS cache). */
        static Resolver system() {
            return host -> Arrays.asList(InetAddress.getAllByName(host));
        }
    }

    private final List<String> entries;
    private final Resolver resolver;
    /** Makes the link of one member: its address {@code ip:port} and the name:port it was found under. */
    private final BiFunction<String, String, FfnLink> connect;
    private final ScheduledFuture<?> refresher;
    private final AtomicLong changes = new AtomicLong();
    /** Guarded by this: members by address, in discovery order, and members on their way out. */
    private final Map<String, Member> current = new LinkedHashMap<>();
    private final List<FfnLink> leaving = new ArrayList<>();
    private volatile List<FfnLink> snapshot = List.of();
    private boolean resolvedOnce;
    private boolean closed;

    /** A member: the entry it was found under, and its link. */
    private record Member(String entry, FfnLink link) {}

    /**
     * Resolves {@code entries} now, then every {@code refresh} on {@code scheduler}.
     *
     * @param entries {@code host:port} or {@code name:port}, at least one
     * @param connect makes a member's link from its address and the entry it came from
     */
    public FfnMembership(List<String> entries, Resolver resolver, BiFunction<String, String, FfnLink> connect,
            Duration refresh, ScheduledExecutorService scheduler) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("at least one ffn-node (host:port or name:port) is needed");
        }
        entries.forEach(FfnMembership::split);
        this.entries = List.copyOf(entries);
        this.resolver = resolver;
        this.connect = connect;
        refresh();
        this.refresher = scheduler.scheduleWithFixedDelay(this::refresh, refresh.toMillis(), refresh.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    @Override
    public List<FfnLink> links() {
        return snapshot;
    }

    @Override
    public long changes() {
        return changes.get();
    }

    /** Resolves every entry and reconciles the members with what DNS says now. */
    public synchronized void refresh() {
        if (closed) {
            return;
        }
        Map<String, String> found = new LinkedHashMap<>(); // address -> entry it came from
        Set<String> unresolved = new LinkedHashSet<>();
        for (String entry : entries) {
            try {
                resolve(entry).forEach(address -> found.putIfAbsent(address, entry));
            } catch (UnknownHostException e) {
                unresolved.add(entry);
                LOG.log(Level.WARNING, "cannot resolve ffn-node entry " + entry + " (" + e.getMessage()
                        + "); keeping its members as they were, trying again at the next refresh");
            }
        }
        for (var it = current.entrySet().iterator(); it.hasNext(); ) {
            var member = it.next();
            if (!found.containsKey(member.getKey()) && !unresolved.contains(member.getValue().entry())) {
                LOG.log(Level.INFO, "ffn-node " + member.getKey() + " left DNS; draining it out");
                leaving.add(member.getValue().link());
                it.remove();
                changes.incrementAndGet();
            }
        }
        found.forEach((address, entry) -> {
            if (!current.containsKey(address)) {
                String authority = split(entry)[0] + ":" + split(address)[1];
                current.put(address, new Member(entry, connect.apply(address, authority)));
                if (resolvedOnce) {
                    LOG.log(Level.INFO, "ffn-node " + address + " joined (" + entry + ")");
                    changes.incrementAndGet();
                }
            }
        });
        resolvedOnce = true;
        snapshot = current.values().stream().map(Member::link).toList();
        leaving.removeIf(link -> {
            if (link.idle()) {
                link.close();
                return true;
            }
            return false;
        });
    }

    /** The addresses of one entry, {@code ip:port} each. */
    private List<String> resolve(String entry) throws UnknownHostException {
        String[] hostPort = split(entry);
        List<InetAddress> all = resolver.resolve(hostPort[0]);
        boolean anyV4 = all.stream().anyMatch(a -> a instanceof Inet4Address);
        List<String> out = new ArrayList<>();
        for (InetAddress a : all) {
            if (!anyV4 || a instanceof Inet4Address) {
                String ip = a.getHostAddress();
                out.add((ip.contains(":") ? "[" + ip + "]" : ip) + ":" + hostPort[1]);
            }
        }
        return out;
    }

    /** {@code host} and {@code port} of an entry; throws naming the entry when it has no port. */
    static String[] split(String entry) {
        int colon = entry.lastIndexOf(':');
        String host = colon > 0 ? entry.substring(0, colon) : "";
        String port = colon > 0 ? entry.substring(colon + 1) : "";
        if (host.isEmpty() || !port.matches("[0-9]{1,5}")) {
            throw new IllegalArgumentException("ffn-node '" + entry + "' is not host:port or name:port, e.g."
                    + " 10.0.0.7:7101 or ffn.afd.svc:7101");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new String[] {host, port};
    }

    @Override
    public synchronized void close() {
        closed = true;
        refresher.cancel(false);
        current.values().forEach(m -> m.link().close());
        leaving.forEach(FfnLink::close);
        current.clear();
        leaving.clear();
        snapshot = List.of();
    }
}
