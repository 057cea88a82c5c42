package dev.afd.telemetry;

import java.util.UUID;

/**
 * Request ids: the {@code X-Request-Id} a client sends is kept when it is safe to copy into headers, gRPC metadata
 * and log lines (1 to {@value #MAX_LENGTH} visible ASCII characters: no spaces, no control characters), and
 * replaced by a fresh one otherwise, so a client cannot forge log lines or break headers with it.
 */
public final class RequestIds {
    /** The HTTP header, in and out. */
    public static final String HEADER = "X-Request-Id";
    /** The longest id kept; longer ones are replaced. */
    public static final int MAX_LENGTH = 128;

    private RequestIds() {}

    /** {@code given} when it is a valid id, else a new one. */
    public static String accept(String given) {
        return valid(given) ? given : generate();
    }

    /** Whether {@code id} may be used as it is. */
    public static boolean valid(String id) {
        if (id == null || id.isEmpty() || id.length() > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /** A new random id (a UUID: what most proxies generate, so ids look alike across hops). */
    public static String generate() {
        return UUID.randomUUID().toString();
    }
}
