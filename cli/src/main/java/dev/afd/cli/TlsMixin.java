package dev.afd.cli;

import dev.afd.transport.MutualTls;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Mutual TLS options of the gRPC roles (and of the gateway's connections to attention nodes). Off unless all three files are given; in Kubernetes they come from a TLS
 * Secret mounted read-only ({@code tls.crt}, {@code tls.key}, {@code ca.crt}).
 */
final class TlsMixin {
    @Option(names = "--tls-cert", description = "This node's certificate chain (PEM); with --tls-key and --tls-ca"
            + " turns on mutual TLS for its gRPC server and its connections to other nodes. Default: plaintext.")
    Path cert;

    @Option(names = "--tls-key", description = "The private key of --tls-cert (unencrypted PKCS#8 PEM).")
    Path key;

    @Option(names = "--tls-ca", description = "CA certificate (PEM) that peers' certificates must chain to; peers"
            + " without one are refused.")
    Path ca;

    /** The TLS settings, or null for plaintext. */
    MutualTls tls() {
        return MutualTls.fromOptions(cert, key, ca);
    }
}
