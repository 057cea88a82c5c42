package dev.afd.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * A node's {@code GET /metrics} in the Prometheus text format, on a port of its own ({@code --metrics-port}), apart
 * from the node's gRPC port: Prometheus scrapes plain HTTP, and the gRPC port may require mutual TLS. Anything else
 * is answered 404, other methods on {@code /metrics} 405.
 *
 * <p>Threading: requests are answered one at a time on one daemon thread of the server's own (a scrape every few
 * seconds needs no more); {@code scrape} must be safe to call from it.
 */
public final class MetricsServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(MetricsServer.class.getName());
    /** The Prometheus text format's content type. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;
    private final ExecutorService thread;

    private MetricsServer(HttpServer server, ExecutorService thread) {
        this.server = server;
        this.thread = thread;
    }

    /**
     * Binds {@code host:port} (0 picks a free port) and answers {@code GET /metrics} with {@code scrape}'s text.
     *
     * @param name the node's role for the log line and thread, e.g. {@code attention}
     * @throws IOException naming the address when it cannot be bound
     */
    public static MetricsServer start(String host, int port, String name, Supplier<String> scrape)
            throws IOException {
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 16);
        } catch (IOException e) {
            throw new IOException("cannot serve metrics on " + host + ":" + port + ": " + e.getMessage()
                    + "; is another process using the port? Choose another with --metrics-port", e);
        }
        server.createContext("/", exchange -> answer(exchange, scrape));
        ExecutorService thread = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().name("afd-metrics-" + name.replace(' ', '-')).daemon().factory());
        server.setExecutor(thread);
        server.start();
        MetricsServer started = new MetricsServer(server, thread);
        LOG.log(Level.INFO, "{0} metrics at {1}", name, started.url(host));
        return started;
    }

    private static void answer(HttpExchange exchange, Supplier<String> scrape) throws IOException {
        try (exchange) {
            if (!exchange.getRequestURI().getPath().equals("/metrics")) {
                send(exchange, 404, "not found; metrics are at /metrics\n");
            } else if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "use GET /metrics\n");
            } else {
                exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
                send(exchange, 200, scrape.get());
            }
        }
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The metrics URL on {@code host}, e.g. {@code http://127.0.0.1:9464/metrics}. */
    public String url(String host) {
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port() + "/metrics";
    }

    /** Stops answering at once; a scrape in progress is cut off. */
    @Override
    public void close() {
        server.stop(0);
        thread.shutdownNow();
    }
}
