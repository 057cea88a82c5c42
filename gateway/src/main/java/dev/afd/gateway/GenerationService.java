package dev.afd.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.gateway.http.HttpExchange;
import dev.afd.gateway.lifecycle.Admission;
import dev.afd.gateway.lifecycle.GenerationJob;
import dev.afd.gateway.lifecycle.StopTokenRule;
import dev.afd.gateway.metrics.GatewayMetrics;
import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.ChatRequest;
import dev.afd.gateway.openai.CompletionRequest;
import dev.afd.gateway.openai.GenerationSettings;
import dev.afd.gateway.openai.OpenAiJson;
import dev.afd.gateway.openai.Prompt;
import dev.afd.gateway.openai.RequestParser;
import dev.afd.gateway.reasoning.ReasoningParser;
import dev.afd.gateway.routing.Router;
import dev.afd.gateway.tokenizer.ChatTemplate;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.gateway.tokenizer.StopMatcher;
import dev.afd.gateway.toolcalls.ToolCallParser;
import dev.afd.gateway.toolcalls.ToolCalling;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.proto.GenerateRequest;
import dev.afd.proto.SamplingOptions;
import dev.afd.telemetry.RequestContext;
import dev.afd.telemetry.RequestSpan;
import dev.afd.telemetry.Tracing;
import dev.afd.wire.GrammarWire;
import dev.afd.wire.LogitControlsWire;
import dev.afd.wire.SamplingWire;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code /v1/completions} and {@code /v1/chat/completions}: parse and validate, render the chat template, tokenize,
 * check the context length, admit, and start one attention-node call per choice.
 *
 * <p>Thread-safe: stateless apart from its shared, thread-safe collaborators.
 */
final class GenerationService {
    private final ModelInfo model;
    private final ModelTokenizer tokenizer;
    private final PromptEncoder encoder;
    private final RequestParser parser;
    private final Router router;
    private final Admission admission;
    private final GatewayMetrics metrics;
    private final Duration stallTimeout;
    private final Tracing tracing;
    private final ReasoningParser reasoning;
    private final ToolCallParser toolCallParser;

    /**
     * @param reasoning splits chat answers into reasoning and answer, or null to leave them whole
     * @param toolCallParser the model's tool-call format for {@code tool_choice: "auto"}, or null for none
     */
    GenerationService(ModelInfo model, ModelTokenizer tokenizer, PromptEncoder encoder, RequestParser parser,
            Router router, Admission admission, GatewayMetrics metrics, Duration stallTimeout, Tracing tracing,
            ReasoningParser reasoning, ToolCallParser toolCallParser) {
        this.model = model;
        this.reasoning = reasoning;
        this.toolCallParser = toolCallParser;
        this.tracing = tracing;
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.stallTimeout = stallTimeout;
        this.parser = parser;
        this.router = router;
        this.admission = admission;
        this.metrics = metrics;
    }

    /** A prompt ready to send: its ids, and its text for echo. */
    private record Input(int[] ids, String text) {}

    void completions(HttpExchange exchange) {
        ObjectNode body = RequestParser.body(exchange.body());
        CompletionRequest r = parser.completion(body);
        checkModel(r.model());
        List<Input> inputs = new ArrayList<>();
        GenerationSettings s = r.settings();
        for (Prompt p : r.prompts()) {
            int[] ids = switch (p) {
                case Prompt.Text t -> encoder.encode(t.text(), true, "prompt");
                case Prompt.Tokens t -> t.ids();
            };
            int[] kept = s.truncate(ids, model.maxModelLen());
            String echo = !s.echo() ? null
                    : p instanceof Prompt.Text t && kept == ids ? t.text() : tokenizer.decode(kept, false);
            inputs.add(new Input(kept, echo));
        }
        // As in vLLM, the reasoning parser leaves completions' text whole.
        run(exchange, OpenAiJson.Kind.COMPLETION, inputs, s, "prompt", null, null);
    }

    void chat(HttpExchange exchange) {
        ObjectNode body = RequestParser.body(exchange.body());
        ChatRequest r = parser.chat(body);
        checkModel(r.model());
        ToolCalling toolCalling = r.tools().calling(toolCallParser);
        ChatTemplate template = tokenizer.chatTemplate();
        if (template == null) {
            throw ApiException.badRequest("messages", "model " + model.name() + " has no chat template in its"
                    + " tokenizer_config.json; use /v1/completions with a prompt instead");
        }
        // The template already placed bos and the other special tokens.
        GenerationSettings s = r.settings();
        int[] ids = s.truncate(encoder.chat(template, r.messages(), r.addGenerationPrompt(), r.templateVariables(),
                false), model.maxModelLen());
        if (reasoning != null && s.grammar() != null) {
            // Structured output constrains the answer, not the reasoning before it.
            s = s.withGrammar(reasoning.answerOnly(s.grammar()));
        }
        run(exchange, OpenAiJson.Kind.CHAT, List.of(new Input(ids, null)), s, "messages", reasoning, toolCalling);
    }

    void checkModel(String requested) {
        if (requested != null && !requested.equals(model.name())) {
            throw ApiException.notFound("model", "The model `" + requested + "` does not exist. This server serves `"
                    + model.name() + "`.");
        }
    }

    /**
     * @param split splits each choice's text into reasoning and answer, or null to leave it whole
     * @param toolCalling splits each choice's answer into content and tool calls, or null to leave it whole
     */
    private void run(HttpExchange exchange, OpenAiJson.Kind kind, List<Input> inputs, GenerationSettings s,
            String promptParam, ReasoningParser split, ToolCalling toolCalling) {
        int[] maxTokens = new int[inputs.size()];
        int promptTokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            maxTokens[i] = checkLength(inputs.get(i).ids(), s, promptParam);
            promptTokens += inputs.get(i).ids().length;
        }
        int slots = inputs.size() * s.n();
        if (slots > admission.limit()) {
            throw ApiException.badRequest("n", "the request asks for " + slots + " sequences (prompts x n), more"
                    + " than this gateway admits at once (" + admission.limit() + ")");
        }
        if (!router.anyReady()) {
            metrics.rejected("no_ready_node");
            throw ApiException.unavailable("no attention node is ready: " + router.notReadyReason(), 1);
        }
        String id = kind.idPrefix + HexFormat.of().formatHex(randomBytes());
        OpenAiJson.Header header = new OpenAiJson.Header(kind, id, System.currentTimeMillis() / 1000, model.name());
        // The span is the child of the client's traceparent, if it sent one; the attention nodes' spans are its own.
        RequestContext client = new RequestContext(exchange.requestId(),
                exchange.headers().get(Tracing.TRACEPARENT));
        RequestSpan span = tracing.start(exchange.method() + " " + exchange.path(), client)
                .set("afd.preprocess_ms", (System.nanoTime() - exchange.arrivalNanos()) / 1e6);
        GenerationJob job = new GenerationJob(header, exchange, s, metrics, admission, promptTokens, stallTimeout,
                client.withTraceparent(span.traceparent()), span, split, toolCalling);
        StopTokenRule rule = new StopTokenRule(model.eosIds(), new HashSet<>(s.stopTokenIds()), s.ignoreEos(),
                s.minTokens());
        for (int p = 0; p < inputs.size(); p++) {
            Input in = inputs.get(p);
            for (int j = 0; j < s.n(); j++) {
                int index = p * s.n() + j;
                GenerateRequest request = request(id + "-" + index, in.ids(), maxTokens[p], s, j);
                job.addChoice(index, request, tokenizer, rule, new StopMatcher(s.stop(), s.includeStopStrInOutput()),
                        s.echo() ? in.text() : null);
            }
        }
        String refused = admission.tryEnter(job, slots);
        if (refused != null) {
            metrics.rejected(refused);
            span.set("afd.rejected", refused).fail("not admitted: " + refused);
            throw ApiException.unavailable(refused.equals("draining")
                    ? "the gateway is shutting down; retry on another replica"
                    : "the gateway is at its limit of " + admission.limit() + " sequences in flight; retry shortly",
                    1);
        }
        metrics.promptTokens(promptTokens * s.n());
        job.start(router);
    }

    /** The choice's max_tokens, after checking that prompt and output fit the context (vLLM's messages). */
    private int checkLength(int[] ids, GenerationSettings s, String promptParam) {
        int n = model.maxModelLen();
        if (ids.length == 0) {
            throw ApiException.badRequest(promptParam, "the prompt is empty: it must have at least one token");
        }
        for (int id : ids) {
            if (id >= model.vocabSize()) {
                throw ApiException.badRequest(promptParam, "token id " + id + " is outside the model's vocabulary"
                        + " [0, " + model.vocabSize() + ")");
            }
        }
        if (ids.length >= n) {
            throw ApiException.badRequest(promptParam, "This model's maximum context length is " + n + " tokens."
                    + " However, your request has " + ids.length + " input tokens. Please reduce the length of the"
                    + " input messages.");
        }
        int maxTokens = s.maxTokens() != null ? s.maxTokens() : n - ids.length;
        if ((long) ids.length + maxTokens > n) {
            throw ApiException.badRequest("max_tokens", "'max_tokens' or 'max_completion_tokens' is too large: "
                    + maxTokens + ". This model's maximum context length is " + n + " tokens and your request has "
                    + ids.length + " input tokens (" + maxTokens + " > " + n + " - " + ids.length + ").");
        }
        try {
            s.logitControls().requireInVocabulary(model.vocabSize());
        } catch (SamplingParams.InvalidSamplingException e) {
            throw ApiException.badRequest(e.parameter(), e.getMessage());
        }
        if (s.minTokens() > maxTokens) {
            throw ApiException.badRequest("min_tokens", "'min_tokens' (" + s.minTokens() + ") is more than the "
                    + maxTokens + " tokens this request may generate");
        }
        return maxTokens;
    }

    /** The node request of choice {@code j}; with a seed, choice j samples with {@code seed + j}, as vLLM does. */
    private static GenerateRequest request(String requestId, int[] ids, int maxTokens, GenerationSettings s, int j) {
        SamplingParams p = s.sampling();
        SamplingOptions sampling = SamplingWire.toProto(p.seed() == null ? p : p.withSeed(p.seed() + j));
        GenerateRequest.Builder b = GenerateRequest.newBuilder()
                .setRequestId(requestId)
                .setMaxTokens(maxTokens)
                .setSampling(sampling)
                .setIgnoreEos(s.ignoreEos())
                .addAllStopTokenIds(s.stopTokenIds())
                .setMinTokens(s.minTokens());
        if (s.grammar() != null) {
            b.setGrammar(GrammarWire.toProto(s.grammar()));
        }
        LogitControlsWire.write(s.logitControls(), b);
        if (s.wantsPromptLogprobs()) {
            b.setPromptLogprobs(s.promptLogprobs());
        }
        for (int id : ids) {
            b.addPromptIds(id);
        }
        return b.build();
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }
}
