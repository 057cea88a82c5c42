package dev.afd.gateway.lifecycle;

import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.ChoiceOutput;
import dev.afd.gateway.openai.PromptLogprob;
import dev.afd.gateway.openai.TokenLogprob;
import dev.afd.gateway.reasoning.ReasoningParser;
import dev.afd.gateway.reasoning.ReasoningSplit;
import dev.afd.gateway.reasoning.ReasoningStream;
import dev.afd.gateway.routing.AttentionEndpoint;
import dev.afd.gateway.routing.GenerateCall;
import dev.afd.gateway.routing.GenerateListener;
import dev.afd.gateway.routing.Router;
import dev.afd.gateway.tokenizer.IncrementalDetokenizer;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.gateway.tokenizer.StopMatcher;
import dev.afd.gateway.toolcalls.ToolCallResult;
import dev.afd.gateway.toolcalls.ToolCallStream;
import dev.afd.gateway.toolcalls.ToolCallUpdate;
import dev.afd.gateway.toolcalls.ToolCalling;
import dev.afd.proto.GenerateRequest;
import dev.afd.proto.TokenOutput;
import dev.afd.proto.TopLogprob;
import dev.afd.proto.Usage;
import io.grpc.Status;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One choice: one Generate call on an attention node, its tokens turned into text (incrementally, never splitting a
 * character), stop strings cut out, logprobs collected, and the result handed to its {@link GenerationJob}. A call
 * that fails with a retryable status before any token was produced is tried once more on another ready node.
 *
 * <p>Threading: listener calls arrive on transport threads; every method runs holding its owner's lock, which the
 * owner also holds when it calls in (see {@link GenerationJob}).
 */
final class ChoiceRun implements GenerateListener {
    private static final System.Logger LOG = System.getLogger(ChoiceRun.class.getName());

    private final ReentrantLock lock;
    private final ChoiceOwner owner;
    private final int index;
    private final GenerateRequest request;
    private final ModelTokenizer tokenizer;
    private final StopTokenRule stopRule;
    private final IncrementalDetokenizer detokenizer;
    private final StopMatcher stops;
    private final String echoText;
    private final ReasoningParser reasoning;
    private final ReasoningStream reasoningStream;
    private final ToolCalling toolCalling;
    private final ToolCallStream toolCallStream;
    private final StringBuilder text = new StringBuilder();
    private final List<TokenLogprob> logprobs;
    /** Prompt tokens 1..n-1 as the node reported them; null when not asked for. */
    private final List<PromptLogprob> promptLogprobs;
    private final Set<AttentionEndpoint> tried = new HashSet<>();
    private Router router;
    private GenerateCall call;
    private boolean paused;
    private boolean echoSent;
    private int generated;
    private int lastToken = -1;
    private long lastTokenNanos;
    private String finishReason;
    private Object stopReason;

    /**
     * @param stops the request's stop strings (fresh: it holds this choice's pending text)
     * @param echoText the prompt's text when the request echoes it, else null
     * @param skipSpecialTokens leave special tokens out of the text
     * @param reasoning splits the text into reasoning and answer (chat), or null to leave it whole
     * @param toolCalling splits the answer into content and tool calls (chat), or null to leave it whole
     */
    ChoiceRun(ReentrantLock lock, ChoiceOwner owner, int index, GenerateRequest request, ModelTokenizer tokenizer,
            StopTokenRule stopRule, StopMatcher stops, boolean logprobs, String echoText,
            boolean skipSpecialTokens, ReasoningParser reasoning, ToolCalling toolCalling) {
        this.reasoning = reasoning;
        this.reasoningStream = reasoning == null ? null : reasoning.stream();
        this.toolCalling = toolCalling;
        this.toolCallStream = toolCalling == null ? null : toolCalling.stream();
        this.lock = lock;
        this.owner = owner;
        this.index = index;
        this.request = request;
        this.tokenizer = tokenizer;
        this.stopRule = stopRule;
        this.detokenizer = new IncrementalDetokenizer(tokenizer,
                request.getPromptIdsList().stream().mapToInt(Integer::intValue).toArray(), skipSpecialTokens);
        this.stops = stops;
        this.logprobs = logprobs ? new ArrayList<>() : null;
        this.promptLogprobs = request.hasPromptLogprobs() ? new ArrayList<>() : null;
        this.echoText = echoText;
        if (echoText != null) {
            text.append(echoText);
        }
    }

    int index() {
        return index;
    }

    int generated() {
        lock.lock();
        try {
            return generated;
        } finally {
            lock.unlock();
        }
    }

    String finishReason() {
        return finishReason;
    }

    Object stopReason() {
        return stopReason;
    }

    String echoText() {
        return echoText;
    }

    /**
     * The echoed prompt's tokens in the completions {@code logprobs} shape (the first unscored), when the request
     * echoes with logprobs; else null.
     */
    List<TokenLogprob> echoLogprobs() {
        if (echoText == null || logprobs == null || promptLogprobs == null) {
            return null;
        }
        List<TokenLogprob> echoed = new ArrayList<>();
        echoed.add(TokenLogprob.unscored(tokenizer.tokenText(request.getPromptIds(0))));
        promptLogprobs.forEach(p -> echoed.add(p.asTokenLogprob()));
        return echoed;
    }

    /** Whether the echoed prompt is still to be streamed; true once, then false. */
    boolean takeEcho() {
        boolean first = !echoSent;
        echoSent = true;
        return first;
    }

    /** Characters of text so far (the echoed prompt included): where the next piece starts. */
    int textLength() {
        return text.length();
    }

    /** A piece of streamed text as it is sent: split into reasoning, content and tool calls where the request asks. */
    StreamPiece streamPiece(String piece) {
        ReasoningSplit split = reasoningStream == null ? new ReasoningSplit(null, piece) : reasoningStream.feed(piece);
        if (toolCallStream == null) {
            return new StreamPiece(split.reasoning(), split.content(), List.of());
        }
        ToolCallUpdate u = split.content() == null ? null : toolCallStream.feed(split.content());
        return new StreamPiece(split.reasoning(), u == null ? null : u.content(), u == null ? List.of() : u.calls());
    }

    /** What the splitters held back, released when the choice has ended (empty when nothing was held). */
    StreamPiece streamEnd() {
        ReasoningSplit split = reasoningStream == null ? new ReasoningSplit(null, null) : reasoningStream.flush();
        if (toolCallStream == null) {
            return new StreamPiece(split.reasoning(), split.content(), List.of());
        }
        ToolCallUpdate u = split.content() == null ? toolCallStream.flush()
                : toolCallStream.feed(split.content()).then(toolCallStream.flush());
        return new StreamPiece(split.reasoning(), u.content(), u.calls());
    }

    /** The finish reason the client sees: {@code tool_calls} where the choice's calls say so. */
    String streamedFinishReason() {
        return toolCalling == null ? finishReason : toolCalling.finishReason(finishReason, toolCallStream.called());
    }

    ChoiceOutput output() {
        String whole = text.toString();
        List<TokenLogprob> echoed = echoLogprobs();
        if (echoed != null) {
            echoed.addAll(logprobs);
        }
        List<TokenLogprob> reported = echoed != null ? echoed : logprobs;
        ReasoningSplit split = reasoning == null ? null : reasoning.split(whole);
        if (toolCalling == null) {
            return new ChoiceOutput(index, whole, split, null, reported, finishReason, stopReason, promptLogprobs);
        }
        String answer = split == null ? whole : split.content();
        ToolCallResult calls = ToolCallStream.whole(toolCalling.stream(), answer == null ? "" : answer);
        return new ChoiceOutput(index, whole, split, calls, reported,
                toolCalling.finishReason(finishReason, !calls.calls().isEmpty()), stopReason, promptLogprobs);
    }

    /** Sends the request to the least loaded ready node; fails the request when there is none. */
    void start(Router router) {
        lock.lock();
        try {
            this.router = router;
            AttentionEndpoint node = router.pick(request.getPromptIdsList(), tried);
            if (node == null) {
                owner.failed(ApiException.unavailable("no attention node is ready: " + router.notReadyReason(), 1));
                return;
            }
            tried.add(node);
            call(node);
        } finally {
            lock.unlock();
        }
    }

    /** The client stopped reading: take no more tokens from the node for now. */
    void pause() {
        paused = true;
        if (call != null) {
            call.pause();
        }
    }

    /** The client reads again. */
    void resume() {
        paused = false;
        if (call != null) {
            call.resume();
        }
    }

    private void call(AttentionEndpoint node) {
        call = node.generate(request, owner.context(), this);
        if (paused) {
            call.pause();
        }
    }

    @Override
    public void onPromptLogprobs(List<TokenOutput> prompt) {
        lock.lock();
        try {
            if (promptLogprobs != null && promptLogprobs.isEmpty()) {
                prompt.forEach(t -> promptLogprobs.add(promptLogprob(t)));
            }
        } finally {
            lock.unlock();
        }
    }

    private PromptLogprob promptLogprob(TokenOutput t) {
        List<PromptLogprob> top = new ArrayList<>(t.getTopLogprobsCount());
        for (TopLogprob alt : t.getTopLogprobsList()) {
            top.add(new PromptLogprob(alt.getTokenId(), tokenizer.tokenText(alt.getTokenId()), alt.getLogprob(),
                    top.size() + 1, List.of()));
        }
        return new PromptLogprob(t.getTokenId(), tokenizer.tokenText(t.getTokenId()), t.getLogprob(), t.getRank(), top);
    }

    @Override
    public void onTokens(List<TokenOutput> tokens) {
        long now = System.nanoTime();
        lock.lock();
        try {
            for (TokenOutput t : tokens) {
                if (finishReason != null) {
                    return;
                }
                accept(t, now);
            }
        } finally {
            lock.unlock();
        }
    }

    private void accept(TokenOutput t, long now) {
        generated++;
        lastToken = t.getTokenId();
        owner.tokenArrived(now, lastTokenNanos == 0 ? -1 : now - lastTokenNanos);
        lastTokenNanos = now;
        // The token that ends the sequence is not part of the text unless asked for, as in vLLM.
        String piece = stopRule.ends(t.getTokenId(), generated) && !stops.keepsMatch() ? ""
                : detokenizer.next(t.getTokenId());
        emit(stops.feed(piece), logprobs == null ? null : logprob(t));
        if (stops.matched() != null) {
            finishReason = "stop";
            stopReason = stops.matched();
            call.cancel("a stop string matched; the choice is complete");
            owner.finished(this);
        }
    }

    @Override
    public void onFinish(String reason, Usage usage) {
        lock.lock();
        try {
            if (finishReason != null) {
                return;
            }
            String rest = stops.feed(detokenizer.flush());
            if (stops.matched() != null) {
                emit(rest, null);
                finishReason = "stop";
                stopReason = stops.matched();
            } else {
                emit(rest + stops.flush(), null);
                finishReason = reason;
                stopReason = "stop".equals(reason) && request.getStopTokenIdsList().contains(lastToken)
                        ? Integer.valueOf(lastToken) : null;
            }
            owner.finished(this);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void onError(Status status) {
        lock.lock();
        try {
            if (finishReason != null || owner.ended()) {
                return;
            }
            String node = call.endpoint().target();
            if (generated == 0 && NodeErrors.retryable(status)) {
                AttentionEndpoint other = router.pick(request.getPromptIdsList(), tried);
                if (other != null) {
                    LOG.log(Level.WARNING, "request " + request.getRequestId() + " failed on attention node " + node
                            + " before its first token (" + status.getCode() + ": " + status.getDescription()
                            + "); retrying on " + other.target());
                    tried.add(other);
                    call(other);
                    return;
                }
            }
            owner.failed(NodeErrors.toApi(status, node, request.getRequestId()));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Ends the choice early with {@code reason} when it is still running: its call is cancelled, which aborts the
     * request on the node and frees its KV blocks.
     *
     * @return whether the choice was still running
     */
    boolean stopUnfinished(String reason, String why) {
        if (finishReason != null) {
            return false;
        }
        finishReason = reason;
        if (call != null) {
            call.cancel(why);
        }
        return true;
    }

    private void emit(String piece, TokenLogprob lp) {
        int offset = text.length();
        text.append(piece);
        if (lp != null) {
            logprobs.add(lp);
        }
        owner.output(this, piece, lp == null ? null : List.of(lp), offset);
    }

    private TokenLogprob logprob(TokenOutput t) {
        List<TokenLogprob> top = new ArrayList<>(t.getTopLogprobsCount());
        for (TopLogprob alt : t.getTopLogprobsList()) {
            top.add(new TokenLogprob(tokenizer.tokenText(alt.getTokenId()), alt.getLogprob(), List.of()));
        }
        return new TokenLogprob(tokenizer.tokenText(t.getTokenId()), t.getLogprob(), top);
    }
}
