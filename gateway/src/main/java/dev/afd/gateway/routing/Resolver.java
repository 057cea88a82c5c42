package dev.afd.gateway.routing;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;

/** Where the attention nodes are: a fixed list, or every address of a DNS name (a headless service). */
public interface Resolver {
    /** The current targets, {@code host:port} each. */
    List<String> resolve() throws UnknownHostException;

    /** For logs and errors. */
    String describe();

    static Resolver fixed(List<String> targets) {
        List<String> copy = List.copyOf(targets);
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("give at least one attention node (host:port)");
        }
        copy.forEach(Resolver::checkTarget);
        return new Resolver() {
            @Override
            public List<String> resolve() {
                return copy;
            }

            @Override
            public String describe() {
                return String.join(",", copy);
            }
        };
    }

    /** Every A/AAAA record of {@code host}, each with {@code port}; looked up again at every call. */
    static Resolver dns(String host, int port) {
        return new Resolver() {
            @Override
            public List<String> resolve() throws UnknownHostException {
                return Arrays.stream(InetAddress.getAllByName(host))
                        .map(a -> (a.getAddress().length == 16 ? "[" + a.getHostAddress() + "]" : a.getHostAddress())
                                + ":" + port)
                        .sorted()
                        .toList();
            }

            @Override
            public String describe() {
                return "dns:" + host + ":" + port;
            }
        };
    }

    /** Parses {@code NAME:PORT} for {@link #dns}. */
    static Resolver dns(String nameAndPort) {
        int colon = nameAndPort.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("expected NAME:PORT for the attention nodes' DNS name, got '"
                    + nameAndPort + "'");
        }
        return dns(nameAndPort.substring(0, colon), port(nameAndPort, nameAndPort.substring(colon + 1)));
    }

    private static void checkTarget(String target) {
        int colon = target.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("expected host:port for an attention node, got '" + target + "'");
        }
        port(target, target.substring(colon + 1));
    }

    private static int port(String whole, String port) {
        try {
            int p = Integer.parseInt(port);
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + whole + "' has no valid port (1-65535)");
        }
    }
}
