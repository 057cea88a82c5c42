package dev.afd.cli;

import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.core.placement.EvenSplit;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The experts of an ffn-node in a tier made of groups: each group of {@code G} nodes holds every expert once, so the
 * node at ordinal {@code i} holds the {@code (i % G)}-th of {@code G} equal contiguous ranges ({@link EvenSplit}).
 * Adding or removing whole groups adds or removes copies without moving any expert of the other nodes.
 */
final class GroupExperts {
    private GroupExperts() {
    }

    /** The range of the node at {@code ordinal} in groups of {@code groupSize} over {@code experts} experts. */
    static ExpertRange of(int ordinal, int groupSize, int experts) {
        if (groupSize < 1 || groupSize > experts) {
            throw new IllegalArgumentException("--group-size must be between 1 and the model's " + experts
                    + " routed experts, got " + groupSize);
        }
        if (ordinal < 0) {
            throw new IllegalArgumentException("--ordinal must be 0 or more, got " + ordinal);
        }
        return EvenSplit.part(experts, groupSize, ordinal % groupSize);
    }

    /** The ordinal in a StatefulSet pod's host name {@code NAME-ORDINAL}. */
    static int ordinal(String hostName) {
        String digits = hostName.substring(hostName.lastIndexOf('-') + 1);
        if (hostName.lastIndexOf('-') < 0 || !digits.matches("[0-9]{1,9}")) {
            throw new IllegalArgumentException("cannot derive this node's ordinal: host name '" + hostName
                    + "' does not end in -ORDINAL (not a StatefulSet pod?); give --ordinal or --experts");
        }
        return Integer.parseInt(digits);
    }

    /** This machine's host name: {@code HOSTNAME} (set in containers), else what the resolver says. */
    static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("cannot read this machine's host name (" + e.getMessage()
                    + "); give --ordinal or --experts", e);
        }
    }
}
