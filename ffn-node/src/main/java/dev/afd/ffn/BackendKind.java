package dev.afd.ffn;

import java.util.Locale;

/** What {@code --backend} asks for. */
public enum BackendKind {
    /** CUDA when the probe finds a usable GPU and the weights fit on it, else the CPU, with the reason logged. */
    AUTO,
    /** The CPU backend (Vector API). */
    CPU,
    /** The CUDA backend, or a start-up failure that says why it cannot run. */
    CUDA;

    /** Parses {@code auto}, {@code cpu} or {@code cuda}, in any case. */
    public static BackendKind parse(String text) {
        for (BackendKind k : values()) {
            if (k.name().equalsIgnoreCase(text.strip())) {
                return k;
            }
        }
        throw new IllegalArgumentException("--backend must be auto, cpu or cuda, got '" + text + "'");
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
