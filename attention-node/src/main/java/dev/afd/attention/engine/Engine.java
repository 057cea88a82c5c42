package dev.afd.attention.engine;

import dev.afd.attention.kv.BlockHasher;
import dev.afd.attention.kv.KvPools;
import dev.afd.attention.scheduler.ScheduledSequence;
import dev.afd.attention.scheduler.Scheduler;
import dev.afd.attention.scheduler.SchedulerStats;
import dev.afd.attention.scheduler.Step;
import dev.afd.attention.spec.Draft;
import dev.afd.attention.spec.DraftVerifier;
import dev.afd.attention.spec.Drafter;
import dev.afd.model.family.CausalLm;
import dev.afd.model.family.ModelConfig;
import dev.afd.model.family.StepOutput;
import dev.afd.model.ffn.FfnException;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.SequenceDecoder;
import dev.afd.model.grammar.Vocabulary;
import dev.afd.model.sampling.PromptLogprob;
import dev.afd.model.sampling.Sample;
import dev.afd.model.sampling.SequenceSampler;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The attention node's engine: continuous batching over one model. Requests arrive from any thread; one platform
 * thread (the engine thread) owns the scheduler, the KV pool and every sequence's decoder, and loops: take new work,
 * schedule a step, run the forward pass, sample, stream tokens, retire finished sequences. With speculative decoding
 * a decoding sequence also feeds the drafts its {@link Drafter.Session} proposed after its last step, and
 * {@link DraftVerifier} turns its logit rows into one or more tokens. A drafter that wants the model's hidden
 * states (MTP) is shown, after each step, the pre-norm rows of the positions each sequence kept, and its session's
 * state is released when the sequence finishes, fails, is aborted or is preempted.
 *
 * <p>Ownership: {@link #live} is the one registry of requests, from {@link #submit} until their sink got its last
 * call; the scheduler only queues their sequences, and each request's {@link SequenceDecoder} alone decides when it
 * ends. The engine thread also owns shutdown: {@link #close} only asks for it and waits, so the scheduler, decoders
 * and pool are never touched by two threads.
 *
 * <p>Threading: {@link #submit}, {@link #abort}, {@link #load} and {@link #close} are safe from any thread; they hand
 * work to the engine thread through a queue. Sinks and the {@link RequestObserver} are called on the engine thread.
 */
public final class Engine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Engine.class.getName());
    private static final int[] NOTHING = new int[0];
    private static final String SHUTTING_DOWN = "the attention node is shutting down; retry on another node";
    /** How long {@link #close} waits for the engine thread to finish its step and fail what is left. */
    private static final long CLOSE_WAIT_SECONDS = 30;

    private final CausalLm model;
    private final Set<Integer> eosIds;
    private final EngineOptions options;
    private final RequestObserver observer;
    /** Proposes drafts for speculative decoding; null when it is off. */
    private final Drafter drafter;
    /** The tokens' bytes for structured output; null when the model has no usable tokenizer.json. */
    private final Vocabulary vocabulary;
    private final KvPools pools;
    private final Scheduler scheduler;
    private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
    /** Live requests by id. Added by {@link #submit} on any thread; removed only on the engine thread. */
    private final Map<String, LiveRequest> live = new ConcurrentHashMap<>();
    private final Thread thread;
    /** The scheduler's preemption count when {@link #releasePreemptedDrafting} last looked; engine thread only. */
    private long preemptionsReleased;
    private volatile EngineLoad load;
    private volatile boolean closed;

    /**
     * A request from submit to its last sink call. {@link #sequence} is set when the engine thread admits it;
     * everything else is fixed at submit. The decoder and the stage times are only used on the engine thread.
     */
    private static final class LiveRequest {
        final String id;
        final GenerationRequest request;
        final SequenceDecoder decoder;
        final TokenSink sink;
        final long arrived = System.nanoTime();
        /** Prompt log-probabilities gathered so far (tokens 1..); null when the request did not ask for them. */
        final List<PromptLogprob> promptLogprobs;
        /** Proposes this request's drafts; null without speculative decoding. */
        final Drafter.Session drafting;
        /** The drafts proposed for the next step, for their distributions when verified. */
        Draft draft = Draft.NONE;
        /** The sequence's preemptions when its drafting last heard of them. */
        int preemptionsSeen;
        ScheduledSequence sequence;
        long scheduled;
        long firstToken;
        long lastToken;

        LiveRequest(String id, GenerationRequest request, SequenceDecoder decoder, TokenSink sink,
                Drafter.Session drafting) {
            this.id = id;
            this.drafting = drafting;
            this.request = request;
            this.decoder = decoder;
            this.sink = sink;
            this.promptLogprobs = request.wantsPromptLogprobs() ? new ArrayList<>() : null;
        }

        RequestTimeline timeline() {
            return new RequestTimeline(arrived, scheduled, firstToken, lastToken, System.nanoTime(),
                    request.promptIds().length, decoder.generatedCount());
        }
    }

    public Engine(CausalLm model, Set<Integer> eosIds, EngineOptions options) {
        this(model, eosIds, options, RequestObserver.NONE, null);
    }

    /**
     * An engine that tells {@code observer} about every request's tokens and timeline (see {@link RequestObserver}).
     *
     * @param vocabulary the tokens' bytes, for requests with a grammar; null refuses those requests
     */
    public Engine(CausalLm model, Set<Integer> eosIds, EngineOptions options, RequestObserver observer,
            Vocabulary vocabulary) {
        ModelConfig c = model.config();
        this.vocabulary = vocabulary;
        this.model = model;
        this.eosIds = Set.copyOf(eosIds);
        this.options = options;
        this.observer = observer;
        this.drafter = options.speculative().enabled() ? options.speculative().drafter(model) : null;
        // One pool layer per KV head of each model layer (KvLayout's slots), so GQA models page like MFA ones; a
        // pool of their own for sliding-window layers' slots, whose blocks go back as they leave the window.
        this.pools = KvPools.fromMemory(options.kvMemoryBytes(), c.kvLayout(), options.kvDtype(), options.blockSize(),
                options.scheduler().maxRunningSequences(), options.scheduler().maxBatchedTokens());
        this.scheduler = options.prefixCaching()
                ? new Scheduler(pools, options.scheduler(), new BlockHasher(c.fingerprint(), pools.dtype(),
                        pools.blockSize()))
                : new Scheduler(pools, options.scheduler());
        publishLoad();
        this.thread = Thread.ofPlatform().name("afd-engine").daemon().start(this::run);
    }

    public CausalLm model() {
        return model;
    }

    /**
     * Queues a request; its output goes to {@code sink}.
     *
     * @throws IllegalArgumentException when the request can never run here (token ids outside the vocabulary, longer
     *     than the context, more KV than the node has) or its id is already live
     * @throws IllegalStateException when the engine is shut down (and only then)
     */
    public void submit(String id, GenerationRequest request, TokenSink sink) {
        ModelConfig c = model.config();
        request.requireFits(c);
        scheduler.requireFits(id, request.promptIds().length, request.maxTokens());
        if (closed) {
            throw new IllegalStateException(SHUTTING_DOWN);
        }
        LiveRequest r = new LiveRequest(id, request, new SequenceDecoder(request, eosIds, c.vocabSize(),
                c.maxPositions(), vocabulary), sink, drafter == null ? null : drafter.open());
        if (live.putIfAbsent(id, r) != null) {
            throw new IllegalArgumentException("request id " + id + " is already in use by a live request");
        }
        inbox.add(() -> admit(r));
        // close() may have come between the check above and the registration: then the engine thread may have
        // failed the live requests already. Take the request back unless it did.
        if (closed && live.remove(id, r)) {
            throw new IllegalStateException(SHUTTING_DOWN);
        }
    }

    /**
     * Stops a request and frees its KV blocks before the next step; its sink gets a finish with reason "abort".
     *
     * @return whether the id named a live request
     */
    public boolean abort(String id) {
        if (!live.containsKey(id)) {
            return false;
        }
        inbox.add(() -> {
            LiveRequest r = live.remove(id);
            if (r != null) {
                if (r.sequence != null) {
                    scheduler.abort(r.sequence);
                }
                releaseDrafting(r);
                r.decoder.abort();
                r.sink.onFinish(r.decoder.result());
                observer.finished(r.decoder.finishReason(), r.timeline());
            }
        });
        return true;
    }

    public EngineLoad load() {
        return load;
    }

    /** On the engine thread; a request taken back by {@link #submit} or already failed is no longer live. */
    private void admit(LiveRequest r) {
        if (live.get(r.id) == r) {
            r.sequence = scheduler.add(r.id, r.request.promptIds(), r.request.maxTokens(),
                    r.request.wantsPromptLogprobs());
        }
    }

    private void run() {
        String farewell = SHUTTING_DOWN;
        try {
            while (!closed) {
                drainInbox();
                Step step = scheduler.schedule();
                if (!step.isEmpty()) {
                    runStep(step);
                }
                publishLoad();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            LOG.log(Level.ERROR, "engine thread failed; failing every request", e);
            farewell = "the attention node's engine failed: " + e + "; see the node's log";
        } finally {
            shutDown(farewell);
        }
    }

    /**
     * On the engine thread, last: refuses further requests, runs what is queued (aborts answer, admissions
     * register), fails every request still live, and frees the KV pool.
     */
    private void shutDown(String message) {
        closed = true;
        for (Runnable r; (r = inbox.poll()) != null; ) {
            r.run();
        }
        failAll(message);
        publishLoad();
        pools.close();
    }

    /** Runs queued commands; waits for one when there is nothing to schedule. */
    private void drainInbox() throws InterruptedException {
        if (!scheduler.hasWork()) {
            publishLoad();
            Runnable first = inbox.poll(100, TimeUnit.MILLISECONDS);
            if (first != null) {
                first.run();
            }
        }
        for (Runnable r; (r = inbox.poll()) != null; ) {
            r.run();
        }
    }

    private void runStep(Step step) {
        List<Step.Entry> entries = step.entries();
        long started = System.nanoTime();
        for (Step.Entry entry : entries) {
            LiveRequest r = owner(entry);
            if (r != null && r.scheduled == 0) {
                r.scheduled = started;
                r.sink.onScheduled();
            }
        }
        releasePreemptedDrafting();
        float[][] logits;
        float[][] hidden = null;
        try {
            if (drafter != null && drafter.wantsHiddenStates()) {
                StepOutput out = model.forwardKeepingHidden(step.chunks(), options.microBatches());
                logits = out.logits();
                hidden = out.hidden();
            } else {
                logits = model.forward(step.chunks(), options.microBatches());
            }
        } catch (FfnException e) {
            scheduler.cancel(step);
            LOG.log(Level.WARNING, "step failed: " + e.getMessage());
            for (Step.Entry entry : entries) {
                LiveRequest r = owner(entry);
                if (r != null) {
                    fail(r, e.getMessage());
                }
            }
            return;
        }
        int vocab = model.config().vocabSize();
        int[][] emitted = new int[entries.size()][];
        for (int i = 0; i < entries.size(); i++) {
            Step.Entry entry = entries.get(i);
            LiveRequest r = owner(entry);
            emitted[i] = NOTHING;
            if (r == null || logits[i] == null) {
                continue;
            }
            if (r.promptLogprobs != null) {
                gatherPromptLogprobs(r, entry, logits[i], vocab);
            }
            if (entry.wantLogits()) {
                emitted[i] = emit(r, entry, logits[i], vocab);
            }
        }
        scheduler.complete(step, emitted);
        for (int i = 0; i < entries.size(); i++) {
            LiveRequest r = owner(entries.get(i));
            if (r == null) {
                continue;
            }
            if (r.decoder.finished()) {
                live.remove(r.id);
                scheduler.finish(r.sequence);
                releaseDrafting(r);
                r.sink.onFinish(r.decoder.result());
                observer.finished(r.decoder.finishReason(), r.timeline());
                continue;
            }
            Step.Entry entry = entries.get(i);
            if (hidden != null && hidden[i] != null && (emitted[i].length > 0 || !entry.wantLogits())) {
                // The positions kept: a chunk's every row, or a decode's last token and its accepted drafts.
                int rows = entry.drafts() > 0 ? emitted[i].length : entry.tokens().length;
                r.drafting.observe(r.sequence.allTokens(), entry.start(), hidden[i], rows);
            }
            if (r.drafting != null && emitted[i].length > 0) {
                proposeDrafts(r);
            }
        }
    }

    /**
     * Frees the drafting state of sequences preempted since the last step (their recompute is observed afresh).
     * Looks only when the scheduler's count of preemptions moved.
     */
    private void releasePreemptedDrafting() {
        if (drafter == null) {
            return;
        }
        long preemptions = scheduler.stats().preemptions();
        if (preemptions == preemptionsReleased) {
            return;
        }
        preemptionsReleased = preemptions;
        for (LiveRequest r : live.values()) {
            if (r.sequence != null && r.sequence.preemptions() != r.preemptionsSeen) {
                r.preemptionsSeen = r.sequence.preemptions();
                r.drafting.release();
            }
        }
    }

    private static void releaseDrafting(LiveRequest r) {
        if (r.drafting != null) {
            r.drafting.release();
        }
    }

    /**
     * Picks the entry's tokens from its logit rows (one, or with drafts up to one per draft plus one) and streams
     * them in order.
     */
    private int[] emit(LiveRequest r, Step.Entry entry, float[] logits, int vocab) {
        DraftVerifier.Verification v = DraftVerifier.verify(r.decoder, logits, vocab, entry.draftTokens(), r.draft);
        r.draft = Draft.NONE;
        if (entry.drafts() > 0) {
            observer.drafted(entry.drafts(), v.accepted());
        }
        for (Sample s : v.samples()) {
            r.sink.onToken(s);
            tokenSampled(r);
        }
        return v.tokens();
    }

    /**
     * Asks the request's drafter for the tokens to verify after its newest one: at most the configured number, and
     * never so many that accepting them all would pass max_tokens or the context.
     */
    private void proposeDrafts(LiveRequest r) {
        ScheduledSequence s = r.sequence;
        int k = Math.min(options.speculative().tokens(), Math.min(s.maxTokens() - s.generatedCount() - 1,
                model.config().maxPositions() - s.totalTokens()));
        if (k > 0) {
            r.draft = r.drafting.propose(s.allTokens(), k);
            scheduler.propose(s, r.draft.tokens());
        }
    }

    /**
     * Adds the log-probabilities of the prompt tokens that {@code entry}'s logit rows predict (the row at position p
     * predicts token p+1) and hands the whole list to the sink once the prompt is covered. Rows recomputed after a
     * preemption are skipped: each prompt token is reported once.
     */
    private void gatherPromptLogprobs(LiveRequest r, Step.Entry entry, float[] logits, int vocab) {
        int[] prompt = r.request.promptIds();
        int rows = entry.logitRows();
        int firstPosition = entry.start() + entry.tokens().length - rows;
        for (int row = 0; row < rows; row++) {
            int predicted = firstPosition + row + 1;
            if (predicted == r.promptLogprobs.size() + 1 && predicted < prompt.length) {
                r.promptLogprobs.add(SequenceSampler.promptLogprob(logits, row * vocab, vocab, prompt[predicted],
                        r.request.promptLogprobs()));
            }
        }
        if (entry.wantLogits() && r.decoder.generatedCount() == 0) {
            r.sink.onPromptLogprobs(List.copyOf(r.promptLogprobs));
        }
    }

    private void tokenSampled(LiveRequest r) {
        long now = System.nanoTime();
        if (r.firstToken == 0) {
            r.firstToken = now;
            observer.firstToken(now - r.arrived, r.request.promptIds().length);
        } else {
            observer.nextToken(now - r.lastToken);
        }
        r.lastToken = now;
    }

    /** The live request a step entry belongs to; null once it was aborted (even if its id was reused since). */
    private LiveRequest owner(Step.Entry entry) {
        LiveRequest r = live.get(entry.sequence().id());
        return r != null && r.sequence == entry.sequence() ? r : null;
    }

    private void fail(LiveRequest r, String message) {
        if (live.remove(r.id, r)) {
            if (r.sequence != null) {
                scheduler.abort(r.sequence);
            }
            releaseDrafting(r);
            r.sink.onError(message);
            observer.finished("error", r.timeline());
        }
    }

    private void failAll(String message) {
        for (LiveRequest r : List.copyOf(live.values())) {
            fail(r, message);
        }
    }

    private void publishLoad() {
        SchedulerStats s = scheduler.stats();
        load = new EngineLoad(s.waiting() + inbox.size(), s.running(), s.blocksUsed(), s.blocksFree(),
                s.preemptions(), s.blocksCached(), s.prefixQueriedTokens(), s.prefixHitTokens(), s.evictions(),
                s.kvGroups());
    }

    /**
     * Stops the engine: new requests are refused at once; the engine thread finishes its step, fails the requests
     * still live and frees the KV pool, and this waits for it (up to {@value #CLOSE_WAIT_SECONDS} s).
     */
    @Override
    public void close() {
        closed = true;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(CLOSE_WAIT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.log(Level.WARNING, "the engine thread is still in a step after " + CLOSE_WAIT_SECONDS
                    + " s; it fails its requests and frees the KV pool when the step returns");
        }
    }
}
