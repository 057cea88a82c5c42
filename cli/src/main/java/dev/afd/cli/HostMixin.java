package dev.afd.cli;

import picocli.CommandLine.Option;

/** {@code --host}: the address a serving role binds, the same option for the gateway and the gRPC roles. */
final class HostMixin {
    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to bind. Default: ${DEFAULT-VALUE}.")
    String host;
}
