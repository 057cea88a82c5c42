package dev.afd.transport;

import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Mutual TLS for a node's gRPC server and for its channels to other nodes: one certificate and key (PEM; the key
 * PKCS#8), presented both when serving and when calling, and one CA certificate (PEM) that the peer's certificate must
 * chain to. A server refuses clients without such a certificate; a client checks that the server's certificate names
 * the host it dialled, so certificates must carry the DNS names peers use (e.g. {@code *.ffn-headless}).
 *
 * <p>The files are read when a server or channel is built; rotating them needs a restart.
 *
 * @param certChain this node's certificate (and intermediates), PEM
 * @param privateKey its private key, PKCS#8 PEM
 * @param trustedCa the CA certificate peers' certificates must chain to, PEM
 */
public record MutualTls(Path certChain, Path privateKey, Path trustedCa) {
    public MutualTls {
        for (Path p : new Path[] {certChain, privateKey, trustedCa}) {
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException("TLS file " + p + " does not exist or cannot be read; mount the"
                        + " certificate secret there or fix the --tls-cert/--tls-key/--tls-ca path");
            }
        }
    }

    /**
     * The TLS settings from three optional options: none given means plaintext (null), all three mutual TLS; anything
     * in between is a mistake that would silently fall back to plaintext, so it is refused.
     *
     * @return the settings, or null for plaintext
     */
    public static MutualTls fromOptions(Path certChain, Path privateKey, Path trustedCa) {
        List<String> given = new ArrayList<>();
        if (certChain != null) {
            given.add("--tls-cert");
        }
        if (privateKey != null) {
            given.add("--tls-key");
        }
        if (trustedCa != null) {
            given.add("--tls-ca");
        }
        if (given.isEmpty()) {
            return null;
        }
        if (given.size() < 3) {
            throw new IllegalArgumentException("mutual TLS needs all of --tls-cert, --tls-key and --tls-ca (got "
                    + String.join(" and ", given) + "); give all three, or none for plaintext");
        }
        return new MutualTls(certChain, privateKey, trustedCa);
    }

    /** A server builder on {@code builder}: plaintext when {@code tls} is null, else requiring client certificates. */
    public static NettyServerBuilder secure(NettyServerBuilder builder, MutualTls tls) {
        return tls == null ? builder : builder.sslContext(tls.serverContext());
    }

    /** A channel builder on {@code builder}: plaintext when {@code tls} is null, else presenting this certificate. */
    public static NettyChannelBuilder secure(NettyChannelBuilder builder, MutualTls tls) {
        return tls == null ? builder.usePlaintext() : builder.useTransportSecurity().sslContext(tls.clientContext());
    }

    /** The server side: presents this certificate and requires one from every client, chained to the CA. */
    public SslContext serverContext() {
        try {
            return GrpcSslContexts.forServer(certChain.toFile(), privateKey.toFile())
                    .trustManager(trustedCa.toFile())
                    .clientAuth(ClientAuth.REQUIRE)
                    .build();
        } catch (IOException | IllegalArgumentException e) {
            throw unreadable(e);
        }
    }

    /** The client side: presents this certificate and accepts only servers chained to the CA. */
    public SslContext clientContext() {
        try {
            return GrpcSslContexts.forClient()
                    .keyManager(certChain.toFile(), privateKey.toFile())
                    .trustManager(trustedCa.toFile())
                    .build();
        } catch (IOException | IllegalArgumentException e) {
            throw unreadable(e);
        }
    }

    private UncheckedIOException unreadable(Exception e) {
        return new UncheckedIOException("cannot load TLS certificate " + certChain + ", key " + privateKey
                + " or CA " + trustedCa + ": " + e.getMessage() + "; the certificates must be PEM and the key"
                + " unencrypted PKCS#8 PEM", e instanceof IOException io ? io : new IOException(e));
    }
}
