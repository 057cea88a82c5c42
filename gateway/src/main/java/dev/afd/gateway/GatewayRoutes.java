package dev.afd.gateway;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.gateway.http.HttpExchange;
import dev.afd.gateway.lifecycle.NodeErrors;
import dev.afd.gateway.http.HttpServer;
import dev.afd.gateway.http.RequestHead;
import dev.afd.gateway.http.Response;
import dev.afd.gateway.metrics.GatewayMetrics;
import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.DetokenizeRequest;
import dev.afd.gateway.openai.OpenAiJson;
import dev.afd.gateway.openai.RequestParser;
import dev.afd.gateway.openai.TokenizeRequest;
import dev.afd.gateway.tokenizer.ChatTemplate;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.telemetry.RequestContext;
import dev.afd.transport.AfdVersion;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The route table. Cheap answers (health, metrics, version, models) are given on the event loop; anything that
 * tokenizes, renders templates or starts generations runs on a worker thread. With an API key configured, the
 * OpenAI routes and the tokenizer routes need it; health, metrics and version stay open for probes and scrapers.
 * Handlers run with the request's context bound ({@link RequestContext}), on whichever thread they run.
 */
final class GatewayRoutes implements HttpServer.Handler {
    private final ModelInfo model;
    private final ModelTokenizer tokenizer;
    private final PromptEncoder encoder;
    private final RequestParser parser;
    private final GenerationService generation;
    private final GatewayMetrics metrics;
    private final Supplier<String> notReadyReason;
    private final byte[] apiKey;
    private final ExecutorService workers;
    private final long created = System.currentTimeMillis() / 1000;

    /** A route's handler, its method, and whether it needs the API key. */
    private record Route(HttpMethod method, boolean guarded, boolean onWorker, Consumer<HttpExchange> handler) {}

    private final Map<String, Route> routes;

    /**
     * @param notReadyReason why the gateway is not ready, or null when it is
     * @param apiKey the required key, or null for none
     */
    GatewayRoutes(ModelInfo model, ModelTokenizer tokenizer, PromptEncoder encoder, RequestParser parser,
            GenerationService generation, GatewayMetrics metrics, Supplier<String> notReadyReason, String apiKey,
            ExecutorService workers) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.parser = parser;
        this.generation = generation;
        this.metrics = metrics;
        this.notReadyReason = notReadyReason;
        this.apiKey = apiKey == null ? null : apiKey.getBytes(StandardCharsets.UTF_8);
        this.workers = workers;
        this.routes = Map.of(
                "/health", new Route(HttpMethod.GET, false, false, this::health),
                "/metrics", new Route(HttpMethod.GET, false, false, this::metrics),
                "/version", new Route(HttpMethod.GET, false, false,
                        ex -> ex.sendJson(200, OpenAiJson.JSON.createObjectNode().put("version", AfdVersion.VERSION))),
                "/v1/models", new Route(HttpMethod.GET, true, false,
                        ex -> ex.sendJson(200, OpenAiJson.models(model.name(), created, model.maxModelLen()))),
                "/tokenize", new Route(HttpMethod.POST, true, true, this::tokenize),
                "/detokenize", new Route(HttpMethod.POST, true, true, this::detokenize),
                "/v1/completions", new Route(HttpMethod.POST, true, true, generation::completions),
                "/v1/chat/completions", new Route(HttpMethod.POST, true, true, generation::chat));
    }

    @Override
    public Response screen(RequestHead head) {
        Route route = routes.get(head.path());
        // Credentials first: without a key, not even which API paths exist is told (as vLLM).
        boolean guarded = route != null ? route.guarded() : head.path().startsWith("/v1/");
        if (guarded && !authorized(head.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            return OpenAiJson.errorResponse(ApiException.unauthorized("missing or invalid API key; send the header"
                    + " 'Authorization: Bearer <key>'"));
        }
        if (route == null) {
            return OpenAiJson.errorResponse(ApiException.notFound(null, "no route " + printable(head.path()) + "; see"
                    + " /v1/models, /v1/completions, /v1/chat/completions, /tokenize, /detokenize, /health, /metrics,"
                    + " /version"));
        }
        if (!route.method().equals(head.method())) {
            return OpenAiJson.errorResponse(ApiException.methodNotAllowed(head.path() + " takes " + route.method()
                    + ", not " + printable(head.method().name())));
        }
        return null;
    }

    @Override
    public void handle(HttpExchange ex) {
        Route route = routes.get(ex.path());
        RequestContext context = RequestContext.of(ex.requestId());
        if (route.onWorker()) {
            workers.execute(() -> context.run(() -> answer(route, ex)));
        } else {
            context.run(() -> answer(route, ex));
        }
    }

    @Override
    public Response error(int status, String message) {
        return OpenAiJson.errorResponse(ApiException.ofStatus(status, message));
    }

    @Override
    public void responded(HttpExchange ex) {
        metrics.httpResponse(routes.containsKey(ex.path()) ? ex.path() : "other", ex.method().name(), ex.status());
    }

    /**
     * Runs a handler; a request error becomes its OpenAI error, anything else a logged 500. The body's memory goes
     * back to the server once the handler has parsed it (it returns once a generation has started).
     */
    private static void answer(Route route, HttpExchange ex) {
        try {
            route.handler().accept(ex);
        } catch (ApiException e) {
            ex.send(OpenAiJson.errorResponse(e));
        } catch (RuntimeException | Error e) {
            ex.send(OpenAiJson.errorResponse(NodeErrors.internal(ex.method() + " " + ex.path() + " failed", e)));
        } finally {
            ex.releaseBody();
        }
    }

    /** A client-given string for a message: control characters escaped, and at most 200 characters. */
    private static String printable(String s) {
        String clipped = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        StringBuilder out = new StringBuilder(clipped.length());
        clipped.codePoints().forEach(c -> {
            if (Character.isISOControl(c)) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.toString();
    }

    private boolean authorized(String header) {
        if (apiKey == null) {
            return true;
        }
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        // Constant time, so the key cannot be guessed byte by byte from response times.
        return MessageDigest.isEqual(apiKey, header.substring(7).trim().getBytes(StandardCharsets.UTF_8));
    }

    private void health(HttpExchange ex) {
        String reason = notReadyReason.get();
        if (reason == null) {
            ex.send(200, "application/json", new byte[0], Map.of());
        } else {
            ex.send(OpenAiJson.errorResponse(ApiException.unavailable("not ready: " + reason, 1)));
        }
    }

    private void metrics(HttpExchange ex) {
        ex.send(200, "text/plain; version=0.0.4; charset=utf-8",
                metrics.scrape().getBytes(StandardCharsets.UTF_8), Map.of());
    }

    private void tokenize(HttpExchange ex) {
        TokenizeRequest r = parser.tokenize(RequestParser.body(ex.body()));
        generation.checkModel(r.model());
        int[] ids;
        if (r.prompt() != null) {
            ids = encoder.encode(r.prompt(), r.addSpecialTokens(), "prompt");
        } else {
            ChatTemplate template = tokenizer.chatTemplate();
            if (template == null) {
                throw ApiException.badRequest("messages", "model " + model.name() + " has no chat template");
            }
            ids = encoder.chat(template, r.messages(), r.addGenerationPrompt(), Map.of(), r.addSpecialTokens());
        }
        ObjectNode out = OpenAiJson.JSON.createObjectNode();
        out.put("count", ids.length);
        out.put("max_model_len", model.maxModelLen());
        ArrayNode tokens = out.putArray("tokens");
        for (int id : ids) {
            tokens.add(id);
        }
        if (r.returnTokenStrs()) {
            ArrayNode strs = out.putArray("token_strs");
            for (int id : ids) {
                strs.add(tokenizer.tokenText(id));
            }
        }
        ex.sendJson(200, out);
    }

    private void detokenize(HttpExchange ex) {
        DetokenizeRequest r = parser.detokenize(RequestParser.body(ex.body()));
        generation.checkModel(r.model());
        for (int id : r.tokens()) {
            if (id >= model.vocabSize()) {
                throw ApiException.badRequest("tokens", "token id " + id + " is outside the model's vocabulary [0, "
                        + model.vocabSize() + ")");
            }
        }
        ex.sendJson(200, OpenAiJson.JSON.createObjectNode().put("prompt", tokenizer.decode(r.tokens(), false)));
    }
}
