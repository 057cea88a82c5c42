package dev.afd.gateway.http;

import java.time.Duration;

/**
 * What one client may cost the HTTP server: body sizes, the memory all bodies being read may hold together, and how
 * long a request may take to arrive. A client that is slower than these is answered 408 and disconnected; one whose
 * body is too large gets 413; a server holding its body budget answers 503 with {@code Retry-After}.
 *
 * @param maxBodyBytes largest request body
 * @param maxBodyBytesInFlight most bytes of request bodies held at once, over every connection (read but not yet
 *     handed over, or handed over and not yet parsed)
 * @param headerTimeout from a request's first byte to the end of its headers
 * @param bodyTimeout from the end of a request's headers to the end of its body
 * @param idleTimeout how long a keep-alive connection may wait for its next request while nothing is in progress
 */
public record HttpLimits(int maxBodyBytes, long maxBodyBytesInFlight, Duration headerTimeout, Duration bodyTimeout,
        Duration idleTimeout) {
    /** Longest request line (method, URL, version): longer ones get 414. */
    public static final int MAX_REQUEST_LINE = 8192;
    /** Largest header block: larger ones get 431. */
    public static final int MAX_HEADER_BYTES = 16384;

    public HttpLimits {
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("the body size limit must be at least 1 byte, got " + maxBodyBytes);
        }
        if (maxBodyBytesInFlight < maxBodyBytes) {
            throw new IllegalArgumentException("the memory for bodies in flight (" + maxBodyBytesInFlight
                    + " bytes) must hold at least one largest body (" + maxBodyBytes + " bytes)");
        }
        for (Duration d : new Duration[] {headerTimeout, bodyTimeout, idleTimeout}) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("HTTP timeouts must be positive, got " + d);
            }
        }
    }

    /** 8 MiB bodies, 256 MiB of bodies in flight, 10 s for headers, 60 s for a body, 60 s idle keep-alive. */
    public static HttpLimits defaults() {
        return new HttpLimits(8 << 20, 256L << 20, Duration.ofSeconds(10), Duration.ofSeconds(60),
                Duration.ofSeconds(60));
    }
}
