package dev.afd.attention.server;

import dev.afd.attention.engine.TokenSink;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.PromptLogprob;
import dev.afd.model.sampling.Sample;
import dev.afd.telemetry.RequestContext;
import dev.afd.telemetry.RequestSpan;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * Passes a request's output on to its sink, and times, logs and traces the request on the way: queue (submit to
 * its first step), prefill (first step to first token) and decode (first token to the end), with its token counts,
 * go on its span, and the line logged when it ends carries its request id.
 *
 * <p>Threading: created on the gRPC thread that submits; every other call comes from the engine thread, one at a
 * time, so the times need no lock. The engine thread serves every request, so each log line binds the request's
 * context itself.
 */
final class ObservedSink implements TokenSink {
    private static final System.Logger LOG = System.getLogger(ObservedSink.class.getName());

    private final TokenSink next;
    private final String sequenceId;
    private final RequestContext context;
    private final RequestSpan span;
    private final long submitted = System.nanoTime();
    private long scheduled;
    private long firstToken;
    private int tokens;

    /** @param sequenceId the engine's id of the request (the gateway's per-choice id) */
    ObservedSink(TokenSink next, String sequenceId, RequestContext context, RequestSpan span) {
        this.next = next;
        this.sequenceId = sequenceId;
        this.context = context;
        this.span = span;
    }

    @Override
    public void onScheduled() {
        scheduled = System.nanoTime();
        next.onScheduled();
    }

    @Override
    public void onPromptLogprobs(List<PromptLogprob> prompt) {
        next.onPromptLogprobs(prompt);
    }

    @Override
    public void onToken(Sample sample) {
        if (tokens++ == 0) {
            firstToken = System.nanoTime();
        }
        next.onToken(sample);
    }

    @Override
    public void onFinish(GenerationResult result) {
        next.onFinish(result);
        long end = System.nanoTime();
        timed(end).set("gen_ai.usage.input_tokens", result.promptTokens())
                .set("afd.finish_reason", result.finishReason()).end();
        context.run(() -> LOG.log(Level.DEBUG, () -> sequenceId + " finished (" + result.finishReason() + "): "
                + result.promptTokens() + " prompt and " + tokens + " generated tokens in " + (end - submitted)
                / 1_000_000 + " ms"));
    }

    @Override
    public void onError(String message) {
        next.onError(message);
        timed(System.nanoTime()).fail(message);
        context.run(() -> LOG.log(Level.WARNING, sequenceId + " failed: " + message));
    }

    /** The engine would not take the request (called on the submitting thread, with the context bound). */
    void refused(String message) {
        LOG.log(Level.DEBUG, () -> "refused " + sequenceId + ": " + message);
        span.fail(message);
    }

    /** The span with the phases that happened by {@code end} (a phase never reached is left out). */
    private RequestSpan timed(long end) {
        span.set("afd.sequence_id", sequenceId).set("gen_ai.usage.output_tokens", tokens)
                .set("afd.queue_ms", millis((scheduled != 0 ? scheduled : end) - submitted));
        if (scheduled != 0) {
            span.set("afd.prefill_ms", millis((firstToken != 0 ? firstToken : end) - scheduled));
        }
        if (firstToken != 0) {
            span.set("afd.decode_ms", millis(end - firstToken));
        }
        return span;
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }
}
