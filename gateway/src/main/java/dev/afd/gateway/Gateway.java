package dev.afd.gateway;

import dev.afd.gateway.http.HttpServer;
import dev.afd.gateway.lifecycle.Admission;
import dev.afd.gateway.lifecycle.GenerationJob;
import dev.afd.gateway.metrics.GatewayMetrics;
import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.RequestParser;
import dev.afd.gateway.routing.Resolver;
import dev.afd.gateway.routing.Router;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The gateway assembled: model facts and tokenizer from the model folder, the router over the attention nodes, the
 * admission bound, metrics, and the HTTP server. Closing it drains first: readiness fails at once, requests in
 * flight get the drain timeout to finish, the rest are failed (and aborted on their nodes), then everything stops.
 *
 * <p>Ownership: the gateway owns every part it starts, including the event loop group that the HTTP server and the
 * attention-node channels share.
 */
public final class Gateway implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Gateway.class.getName());

    private final GatewayOptions options;
    private final ModelInfo model;
    private final ModelTokenizer tokenizer;
    private final EventLoopGroup group;
    private final Router router;
    private final Admission admission;
    private final GatewayMetrics metrics;
    private final ExecutorService workers;
    private HttpServer server;
    private boolean closed;

    private Gateway(GatewayOptions options, ModelInfo model, ModelTokenizer tokenizer, Resolver resolver) {
        this.options = options;
        this.model = model;
        this.tokenizer = tokenizer;
        this.group = new MultiThreadIoEventLoopGroup(options.ioThreads(),
                Thread.ofPlatform().name("afd-gateway-io-", 0).daemon().factory(), NioIoHandler.newFactory());
        this.router = new Router(resolver, new Router.Options(options.loadInterval(), options.resolveInterval(),
                model.fingerprint(), options.tls(), options.prefixRouting()), group);
        this.admission = new Admission(options.maxInflight());
        this.metrics = new GatewayMetrics(model.name(), model.maxModelLen(), router::readyNodes, admission::inflight);
        this.workers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("afd-gateway-worker-", 0)
                .factory());
    }

    /**
     * Starts a gateway for the model in {@code modelDir} in front of the attention nodes {@code resolver} finds.
     *
     * @param tokenizerDir where tokenizer.json and tokenizer_config.json are, or null for {@code modelDir}
     * @throws IOException when the model's files cannot be read or the port cannot be bound
     */
    public static Gateway start(GatewayOptions options, Path modelDir, Path tokenizerDir, Resolver resolver)
            throws IOException {
        ModelInfo model = ModelInfo.read(modelDir, options.servedModelName());
        ModelTokenizer tokenizer = ModelTokenizer.open(tokenizerDir != null ? tokenizerDir : modelDir);
        Gateway g = new Gateway(options, model, tokenizer, resolver);
        try {
            g.router.start();
            RequestParser parser = new RequestParser(model.defaults());
            PromptEncoder encoder = new PromptEncoder(tokenizer, model.maxModelLen(), options.maxTokenizing());
            GenerationService generation = new GenerationService(model, tokenizer, encoder, parser, g.router,
                    g.admission, g.metrics, options.streamStallTimeout(), options.tracing(),
                    options.reasoningParser(), options.toolCallParser());
            GatewayRoutes routes = new GatewayRoutes(model, tokenizer, encoder, parser, generation, g.metrics,
                    g::notReadyReason, options.apiKey(), g.workers);
            g.server = HttpServer.start(options.host(), options.port(), options.http(), routes, g.group);
            g.metrics.bodyBytesHeld(g.server::bodyBytesHeld);
        } catch (IOException | RuntimeException e) {
            g.stop();
            throw e;
        }
        LOG.log(Level.INFO, "serving model '" + model.name() + "' (max_model_len " + model.maxModelLen() + ") on port "
                + g.port() + " in front of " + resolver.describe());
        return g;
    }

    public int port() {
        return server.port();
    }

    public ModelInfo model() {
        return model;
    }

    public Router router() {
        return router;
    }

    public GatewayMetrics metrics() {
        return metrics;
    }

    /** Why {@code /health} fails now, or null when the gateway is ready. */
    public String notReadyReason() {
        if (admission.draining()) {
            return "the gateway is shutting down";
        }
        return router.anyReady() ? null : router.notReadyReason();
    }

    /** Sequences in flight. */
    public int inflight() {
        return admission.inflight();
    }

    /**
     * Stops admitting (readiness fails at once), waits up to {@code timeout} for requests in flight, then fails the
     * rest with a 503 (in-band when streaming) and aborts them on their nodes.
     *
     * @return whether every request finished within the timeout
     */
    public boolean drain(Duration timeout) {
        admission.startDraining();
        int inflight = admission.inflight();
        if (inflight > 0) {
            LOG.log(Level.INFO, "draining: waiting up to " + timeout.toSeconds() + " s for " + inflight
                    + " sequences in flight");
        }
        boolean idle;
        try {
            idle = admission.awaitIdle(timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            idle = false;
        }
        if (!idle) {
            List<GenerationJob> left = admission.jobs();
            LOG.log(Level.WARNING, "drain timeout: aborting " + left.size() + " requests still in flight");
            ApiException e = ApiException.unavailable("the gateway shut down before the request finished", 1);
            left.forEach(j -> j.failed(e));
        }
        return idle;
    }

    /** Drains (with the configured timeout), then stops the server, the node channels and the threads. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        drain(options.drainTimeout());
        stop();
        LOG.log(Level.INFO, "gateway stopped");
    }

    private void stop() {
        if (server != null) {
            server.close();
        }
        router.close();
        workers.shutdown();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        // Last: no worker or transport thread can be inside the native tokenizer any more.
        tokenizer.close();
        metrics.close();
    }
}
