package dev.afd.gateway;

import dev.afd.transport.MutualTls;
import java.time.Duration;

/**
 * How the gateway runs.
 *
 * @param host address to bind
 * @param port HTTP port (0 picks a free one)
 * @param servedModelName the model name clients use, or null for the model folder's name
 * @param apiKey when set, {@code /v1/*}, {@code /tokenize} and {@code /detokenize} need
 *     {@code Authorization: Bearer <apiKey>}; {@code /health}, {@code /metrics} and {@code /version} stay open
 * @param maxBodyBytes largest request body accepted (larger ones get 413)
 * @param maxInflight most sequences (choices) admitted at once; beyond it requests get 503 with Retry-After
 * @param drainTimeout on shutdown, how long requests in flight may take to finish before they are aborted
 * @param ioThreads event loop threads for HTTP and the attention-node channels
 * @param loadInterval how often each attention node's load is polled (also its health check)
 * @param resolveInterval how often the attention nodes' DNS name is resolved again
 * @param tls mutual TLS towards the attention nodes, or null for plaintext
 */
public record GatewayOptions(String host, int port, String servedModelName, String apiKey, int maxBodyBytes,
        int maxInflight, Duration drainTimeout, int ioThreads, Duration loadInterval, Duration resolveInterval,
        MutualTls tls) {
    public static final int DEFAULT_PORT = 8000;
    public static final int DEFAULT_MAX_BODY_BYTES = 8 << 20;
    public static final int DEFAULT_MAX_INFLIGHT = 1024;

    public GatewayOptions {
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("the body size limit must be at least 1 byte, got " + maxBodyBytes);
        }
        if (maxInflight < 1) {
            throw new IllegalArgumentException("the in-flight limit must be at least 1, got " + maxInflight);
        }
        if (ioThreads < 1) {
            throw new IllegalArgumentException("I/O threads must be at least 1, got " + ioThreads);
        }
    }

    /** All interfaces, port 8000, no API key, 8 MiB bodies, 1024 sequences, 30 s drain, 2 I/O threads. */
    public static GatewayOptions defaults() {
        return new GatewayOptions("0.0.0.0", DEFAULT_PORT, null, null, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INFLIGHT,
                Duration.ofSeconds(30), 2, Duration.ofMillis(250), Duration.ofSeconds(5), null);
    }

    public GatewayOptions withAddress(String h, int p) {
        return new GatewayOptions(h, p, servedModelName, apiKey, maxBodyBytes, maxInflight, drainTimeout, ioThreads,
                loadInterval, resolveInterval, tls);
    }

    public GatewayOptions withServedModelName(String name) {
        return new GatewayOptions(host, port, name, apiKey, maxBodyBytes, maxInflight, drainTimeout, ioThreads,
                loadInterval, resolveInterval, tls);
    }

    public GatewayOptions withApiKey(String key) {
        return new GatewayOptions(host, port, servedModelName, key, maxBodyBytes, maxInflight, drainTimeout,
                ioThreads, loadInterval, resolveInterval, tls);
    }

    public GatewayOptions withLimits(int bodyBytes, int inflight) {
        return new GatewayOptions(host, port, servedModelName, apiKey, bodyBytes, inflight, drainTimeout, ioThreads,
                loadInterval, resolveInterval, tls);
    }

    public GatewayOptions withDrainTimeout(Duration d) {
        return new GatewayOptions(host, port, servedModelName, apiKey, maxBodyBytes, maxInflight, d, ioThreads,
                loadInterval, resolveInterval, tls);
    }

    public GatewayOptions withIoThreads(int n) {
        return new GatewayOptions(host, port, servedModelName, apiKey, maxBodyBytes, maxInflight, drainTimeout, n,
                loadInterval, resolveInterval, tls);
    }

    public GatewayOptions withIntervals(Duration load, Duration resolve) {
        return new GatewayOptions(host, port, servedModelName, apiKey, maxBodyBytes, maxInflight, drainTimeout,
                ioThreads, load, resolve, tls);
    }

    public GatewayOptions withTls(MutualTls t) {
        return new GatewayOptions(host, port, servedModelName, apiKey, maxBodyBytes, maxInflight, drainTimeout,
                ioThreads, loadInterval, resolveInterval, t);
    }
}
