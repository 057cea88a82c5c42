package dev.afd.gateway.lifecycle;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.gateway.http.HttpExchange;
import dev.afd.gateway.metrics.GatewayMetrics;
import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.ChoiceOutput;
import dev.afd.gateway.openai.GenerationSettings;
import dev.afd.gateway.openai.OpenAiJson;
import dev.afd.gateway.openai.TokenLogprob;
import dev.afd.gateway.reasoning.ReasoningParser;
import dev.afd.gateway.routing.Router;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.gateway.tokenizer.StopMatcher;
import dev.afd.gateway.toolcalls.ToolCalling;
import dev.afd.proto.GenerateRequest;
import dev.afd.telemetry.RequestContext;
import dev.afd.telemetry.RequestSpan;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One generation request on its way: its choices (one attention-node call each) and how their output reaches the
 * client, as one JSON answer once every choice is done, or as server-sent events while they run. The event stream
 * opens with the first output, so a request the node refuses outright still gets a proper HTTP error; after that,
 * a failure is sent in-band as an error event, then {@code [DONE]}.
 *
 * <p>Backpressure: when a stream's client stops reading and its connection stops taking output, the choices stop
 * taking tokens from their nodes; a client that stays that way for the stall timeout is given up on: the request is
 * aborted (freeing its KV blocks) and the connection closed.
 *
 * <p>Threading: choices report on transport threads, the client's disconnect arrives on an event loop, a drain on
 * its own thread. Everything that reads or changes the job or its choices holds the job's lock, which the job owns
 * and hands to its choices; nothing under it blocks (writes are queued, gRPC cancels are asynchronous). Choices know
 * the job only as their {@link ChoiceOwner}. Work that arrives on those threads runs with the request's context
 * bound (the choices' calls bind it for their callbacks; the job binds it for the client's events), so every line
 * logged about the request carries its id.
 *
 * <p>The job ends its request's span once: when the answer is queued, the request fails, or it is aborted.
 */
public final class GenerationJob implements ChoiceOwner {
    private static final System.Logger LOG = System.getLogger(GenerationJob.class.getName());

    private final OpenAiJson.Header header;
    private final HttpExchange exchange;
    private final GenerationSettings settings;
    private final GatewayMetrics metrics;
    private final Admission admission;
    private final ReentrantLock lock = new ReentrantLock();
    private final List<ChoiceRun> choices = new ArrayList<>();
    private final int usagePromptTokens;
    private final Duration stallTimeout;
    private final RequestContext context;
    private final RequestSpan span;
    private final ReasoningParser reasoning;
    private final ToolCalling toolCalling;
    private long firstTokenNanos;
    private Future<?> stall;
    private int remaining;
    private boolean ended;
    private boolean firstToken;

    /**
     * @param usagePromptTokens prompt tokens as usage reports them: each prompt once, however many choices
     * @param stallTimeout how long a stream's client may stop reading before the request is given up
     * @param context the request's id and the traceparent of {@code span}, sent to the attention nodes
     * @param span the request's span in this process, ended by the job
     * @param reasoning splits chat answers into reasoning and answer, or null to leave them whole
     * @param toolCalling splits chat answers into content and tool calls, or null to leave them whole
     */
    public GenerationJob(OpenAiJson.Header header, HttpExchange exchange, GenerationSettings settings,
            GatewayMetrics metrics, Admission admission, int usagePromptTokens, Duration stallTimeout,
            RequestContext context, RequestSpan span, ReasoningParser reasoning, ToolCalling toolCalling) {
        this.reasoning = reasoning;
        this.toolCalling = toolCalling;
        this.stallTimeout = stallTimeout;
        this.context = context;
        this.span = span;
        this.header = header;
        this.exchange = exchange;
        this.settings = settings;
        this.metrics = metrics;
        this.admission = admission;
        this.usagePromptTokens = usagePromptTokens;
    }

    /**
     * Adds choice {@code index}, to be sent as {@code request} when the job starts.
     *
     * @param stops the request's stop strings (fresh: it holds this choice's pending text)
     * @param echoText the prompt's text when the request echoes it, else null
     */
    public void addChoice(int index, GenerateRequest request, ModelTokenizer tokenizer, StopTokenRule stopRule,
            StopMatcher stops, String echoText) {
        boolean skipSpecial = settings.skipSpecialTokens() && (toolCalling == null
                || !toolCalling.keepsSpecialTokens());
        choices.add(new ChoiceRun(lock, this, index, request, tokenizer, stopRule, stops, settings.logprobs(),
                echoText, skipSpecial, reasoning, toolCalling));
    }

    /** Starts every choice's call; a client that leaves from now on stops them. */
    public void start(Router router) {
        lock.lock();
        try {
            remaining = choices.size();
            LOG.log(Level.DEBUG, () -> "generating " + header.id() + ": " + choices.size() + " choice(s), "
                    + usagePromptTokens + " prompt tokens" + (settings.stream() ? ", streamed" : ""));
            exchange.onClientGone(() -> context.run(() -> abort("the client disconnected")));
            if (settings.stream()) {
                exchange.onWritabilityChange(writable -> context.run(() -> clientWritable(writable)));
            }
            for (ChoiceRun c : choices) {
                if (ended) {
                    return;
                }
                c.start(router);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public RequestContext context() {
        return context;
    }

    @Override
    public boolean ended() {
        lock.lock();
        try {
            return ended;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void tokenArrived(long nowNanos, long sinceLastNanos) {
        lock.lock();
        try {
            if (sinceLastNanos >= 0) {
                metrics.interTokenLatency(sinceLastNanos);
            } else if (!firstToken) {
                firstToken = true;
                firstTokenNanos = nowNanos;
                metrics.timeToFirstToken(nowNanos - exchange.arrivalNanos());
            }
        } finally {
            lock.unlock();
        }
    }

    /** New text (and the tokens' logprobs) of a running choice; streamed at once, or kept by the choice. */
    @Override
    public void output(ChoiceRun c, String text, List<TokenLogprob> logprobs, int textOffset) {
        lock.lock();
        try {
            if (!settings.stream() || ended || (text.isEmpty() && logprobs == null)) {
                return;
            }
            sendPiece(c, c.streamPiece(text), logprobs, textOffset);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Streams a piece of a choice's output: its reasoning, content and tool-call parts (chat), or text, with its
     * logprobs.
     */
    private void sendPiece(ChoiceRun c, StreamPiece piece, List<TokenLogprob> logprobs, int textOffset) {
        if (piece.isEmpty() && logprobs == null) {
            return;
        }
        openStream(c);
        exchange.sendEvent(OpenAiJson.chunk(header, c.index(), null, piece.reasoning(), piece.content(),
                piece.toolCalls(), logprobs, textOffset, null, null));
    }

    /** A choice ended normally (or by a stop string); the answer goes out once every choice has. */
    @Override
    public void finished(ChoiceRun c) {
        lock.lock();
        try {
            metrics.choiceFinished(c.finishReason());
            metrics.generationTokens(c.generated());
            if (ended) {
                return;
            }
            if (settings.stream()) {
                sendPiece(c, c.streamEnd(), null, c.textLength());
                openStream(c);
                exchange.sendEvent(OpenAiJson.chunk(header, c.index(), null, null, header.kind()
                        == OpenAiJson.Kind.CHAT ? null : "", List.of(), null, c.textLength(),
                        c.streamedFinishReason(), c.stopReason()));
            }
            if (--remaining == 0) {
                complete();
            }
        } finally {
            lock.unlock();
        }
    }

    /** A choice failed: the request fails as a whole, and the other choices stop. */
    @Override
    public void failed(ApiException e) {
        lock.lock();
        try {
            if (ended) {
                return;
            }
            ended = true;
            stopUnfinished("error", "the request failed: " + e.getMessage());
            if (exchange.eventsStarted()) {
                exchange.sendEvent(OpenAiJson.error(e));
                exchange.endEvents();
            } else {
                exchange.send(OpenAiJson.errorResponse(e));
            }
            // Bound here: a drain that times out fails the jobs left from its own thread.
            context.run(() -> LOG.log(Level.DEBUG, () -> header.id() + " failed (" + e.status() + "): "
                    + e.getMessage()));
            endSpan().fail(e.getMessage());
            admission.leave(this, choices.size());
        } finally {
            lock.unlock();
        }
    }

    /** The client's connection stopped or started taking output (reported on its event loop). */
    private void clientWritable(boolean writable) {
        lock.lock();
        try {
            if (ended || writable == (stall == null)) {
                return;
            }
            if (writable) {
                stall.cancel(false);
                stall = null;
                choices.forEach(ChoiceRun::resume);
            } else {
                choices.forEach(ChoiceRun::pause);
                stall = exchange.schedule(() -> context.run(this::stalled), stallTimeout);
            }
        } finally {
            lock.unlock();
        }
    }

    private void stalled() {
        lock.lock();
        try {
            if (ended || stall == null) {
                return;
            }
            LOG.log(Level.WARNING, "request " + header.id() + ": the client read none of its stream for "
                    + stallTimeout.toSeconds() + " s; aborting it and closing the connection");
            metrics.streamStalled();
            abort("the client stopped reading its stream");
            exchange.abandon();
        } finally {
            lock.unlock();
        }
    }

    /** Stops every choice without answering (the client is gone). */
    void abort(String why) {
        lock.lock();
        try {
            if (!ended) {
                ended = true;
                stopUnfinished("abort", why);
                LOG.log(Level.DEBUG, () -> header.id() + " aborted: " + why);
                endSpan().set("afd.aborted", why).end();
                admission.leave(this, choices.size());
            }
        } finally {
            lock.unlock();
        }
    }

    /** Every choice is done: the answer (or the stream's end) is queued first, then the slots are freed. */
    private void complete() {
        ended = true;
        ObjectNode usage = OpenAiJson.usage(usagePromptTokens, generatedTotal());
        if (settings.stream()) {
            if (settings.includeUsage()) {
                exchange.sendEvent(OpenAiJson.usageChunk(header, usage));
            }
            exchange.endEvents();
        } else {
            List<ChoiceOutput> outputs = choices.stream().map(ChoiceRun::output).toList();
            exchange.sendJson(200, OpenAiJson.response(header, outputs, usage));
        }
        long took = System.nanoTime() - exchange.arrivalNanos();
        metrics.requestFinished(took, usagePromptTokens, generatedTotal(), settings.n());
        LOG.log(Level.DEBUG, () -> header.id() + " finished in " + took / 1_000_000 + " ms: " + usagePromptTokens
                + " prompt and " + generatedTotal() + " generated tokens");
        endSpan().end();
        // Last: a drain that sees no job left may close the connections, and the answer must be queued before.
        admission.leave(this, choices.size());
    }

    /**
     * Stops the choices still running (their calls are cancelled, which aborts them on the node, with {@code why});
     * they count as finished for {@code reason}.
     */
    private void stopUnfinished(String reason, String why) {
        for (ChoiceRun c : choices) {
            if (c.stopUnfinished(reason, why)) {
                metrics.choiceFinished(reason);
                metrics.generationTokens(c.generated());
            }
        }
    }

    /** The span with the attributes known once the request is over, ready to end. */
    private RequestSpan endSpan() {
        int status = exchange.status();
        span.set("gen_ai.response.id", header.id())
                .set("gen_ai.usage.input_tokens", usagePromptTokens)
                .set("gen_ai.usage.output_tokens", generatedTotal())
                .set("afd.choices", choices.size());
        if (status > 0) {
            span.set("http.response.status_code", status);
        }
        if (firstTokenNanos != 0) {
            span.set("afd.time_to_first_token_ms", (firstTokenNanos - exchange.arrivalNanos()) / 1e6);
        }
        return span;
    }

    private int generatedTotal() {
        return choices.stream().mapToInt(ChoiceRun::generated).sum();
    }

    /**
     * Before choice {@code c}'s first chunk: opens the event stream on the first output of any choice (the head, then
     * each chat choice's role), and sends {@code c}'s echoed prompt (with its logprobs, which arrive before its first
     * token) once.
     */
    private void openStream(ChoiceRun c) {
        if (!exchange.eventsStarted()) {
            exchange.startEvents();
            if (header.kind() == OpenAiJson.Kind.CHAT) {
                for (ChoiceRun each : choices) {
                    exchange.sendEvent(OpenAiJson.chunk(header, each.index(), "assistant", null, "", List.of(), null,
                            0, null, null));
                }
            }
        }
        if (settings.echo() && c.takeEcho()) {
            exchange.sendEvent(OpenAiJson.chunk(header, c.index(), null, null, c.echoText(), List.of(),
                    c.echoLogprobs(), 0, null, null));
        }
    }
}
