package dev.afd.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Where a gRPC role (attention node, ffn-node) listens: {@code --host} and a required {@code --port}. */
final class ListenMixin {
    @Mixin
    HostMixin bind;

    @Option(names = "--port", required = true, description = "Port to listen on; 0 picks a free one. Required; no default.")
    int port;

    String host() {
        return bind.host;
    }
}
