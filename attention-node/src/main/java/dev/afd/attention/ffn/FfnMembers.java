package dev.afd.attention.ffn;

import java.util.List;

/**
 * The ffn-nodes an attention node works with: a fixed list, or the members a DNS name resolves to now
 * ({@link FfnMembership}).
 *
 * <p>Thread-safe: {@link #links} may be read from any thread and returns an immutable snapshot.
 */
public interface FfnMembers extends AutoCloseable {
    /** The members now, connected or not. */
    List<FfnLink> links();

    /** Members added or removed since start. */
    default long changes() {
        return 0;
    }

    /** Closes every link. */
    @Override
    void close();

    /** Exactly {@code links}, for the node's whole life. */
    static FfnMembers fixed(List<FfnLink> links) {
        if (links.isEmpty()) {
            throw new IllegalArgumentException("at least one ffn-node is needed");
        }
        List<FfnLink> copy = List.copyOf(links);
        return new FfnMembers() {
            @Override
            public List<FfnLink> links() {
                return copy;
            }

            @Override
            public void close() {
                copy.forEach(FfnLink::close);
            }
        };
    }
}
