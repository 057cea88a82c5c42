package dev.afd.transport;

/** The release every process reports ({@code afd --version}, the gateway's {@code /version}). */
public final class AfdVersion {
    public static final String VERSION = "0.1.0";

    private AfdVersion() {}
}
