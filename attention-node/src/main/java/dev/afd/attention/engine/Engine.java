package dev.afd.attention.engine;

import dev.afd.attention.kv.BlockPool;
import dev.afd.attention.scheduler.ScheduledSequence;
import dev.afd.attention.scheduler.Scheduler;
import dev.afd.attention.scheduler.SchedulerStats;
import dev.afd.attention.scheduler.Step;
import dev.afd.model.config.Step3Config;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.SequenceDecoder;
import dev.afd.model.sampling.Sample;
import dev.afd.model.step3.FfnException;
import dev.afd.model.step3.Step3Model;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The attention node's engine: continuous batching over one model. Requests arrive from any thread; one platform
 * thread (the engine thread) owns the scheduler, the KV pool and every sequence's decoder, and loops: take new work,
 * schedule a step, run the forward pass, sample, stream tokens, retire finished sequences.
 *
 * <p>Threading: {@link #submit}, {@link #abort} and {@link #load} are safe from any thread; they hand work to the
 * engine thread through a queue. Sinks are called on the engine thread.
 */
public final class Engine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Engine.class.getName());

    private final Step3Model model;
    private final Set<Integer> eosIds;
    private final EngineOptions options;
    private final BlockPool pool;
    private final Scheduler scheduler;
    private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
    private final Set<String> liveIds = ConcurrentHashMap.newKeySet();
    private final Map<String, Active> active = new HashMap<>();
    private final Thread thread;
    private volatile EngineLoad load = new EngineLoad(0, 0, 0, 0, 0);
    private volatile boolean closed;

    /** A request the engine thread is working on. */
    private record Active(ScheduledSequence sequence, SequenceDecoder decoder, TokenSink sink) {}

    public Engine(Step3Model model, Set<Integer> eosIds, EngineOptions options) {
        Step3Config c = model.config();
        this.model = model;
        this.eosIds = Set.copyOf(eosIds);
        this.options = options;
        this.pool = BlockPool.fromMemory(options.kvMemoryBytes(), c.numLayers(), c.headDim(), options.kvDtype(),
                options.blockSize());
        this.scheduler = new Scheduler(pool, options.scheduler());
        this.load = new EngineLoad(0, 0, 0, pool.total(), 0);
        this.thread = Thread.ofPlatform().name("afd-engine").daemon().start(this::run);
    }

    public Step3Model model() {
        return model;
    }

    /**
     * Queues a request; its output goes to {@code sink}.
     *
     * @throws IllegalArgumentException when the request can never run here (token ids outside the vocabulary, longer
     *     than the context, more KV than the node has) or its id is already live
     * @throws IllegalStateException when the engine is shut down
     */
    public void submit(String id, GenerationRequest request, TokenSink sink) {
        validate(request);
        if (closed) {
            throw new IllegalStateException("the attention node is shutting down; retry on another node");
        }
        if (!liveIds.add(id)) {
            throw new IllegalArgumentException("request id " + id + " is already in use by a live request");
        }
        inbox.add(() -> admit(id, request, sink));
    }

    /**
     * Stops a request and frees its KV blocks before the next step; its sink gets a finish with reason "abort".
     *
     * @return whether the id named a live request
     */
    public boolean abort(String id) {
        if (!liveIds.contains(id)) {
            return false;
        }
        inbox.add(() -> {
            Active a = active.remove(id);
            if (a != null) {
                scheduler.abort(id);
                a.decoder.abort();
                liveIds.remove(id);
                a.sink.onFinish(a.decoder.result());
            }
        });
        return true;
    }

    public EngineLoad load() {
        return load;
    }

    private void validate(GenerationRequest r) {
        r.requireFits(model.config());
        long positions = (long) r.promptIds().length + r.maxTokens() - 1;
        long blocks = (positions + pool.blockSize() - 1) / pool.blockSize();
        if (blocks > pool.total()) {
            throw new IllegalArgumentException("the prompt (" + r.promptIds().length + " tokens) plus max_tokens ("
                    + r.maxTokens() + ") needs " + blocks + " KV blocks but this node holds " + pool.total()
                    + "; lower max_tokens or give the node more KV memory (--kv-memory)");
        }
    }

    private void admit(String id, GenerationRequest request, TokenSink sink) {
        Step3Config c = model.config();
        ScheduledSequence s = scheduler.add(id, request.promptIds(), request.maxTokens());
        active.put(id, new Active(s, new SequenceDecoder(request, eosIds, c.vocabSize(), c.maxPositions()), sink));
    }

    private void run() {
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
            failAll("the attention node's engine failed: " + e + "; see the node's log");
            throw e;
        }
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
        float[][] logits;
        try {
            logits = model.forward(step.chunks(), options.microBatches());
        } catch (FfnException e) {
            scheduler.cancel(step);
            LOG.log(Level.WARNING, "step failed: " + e.getMessage());
            for (Step.Entry entry : entries) {
                fail(entry.sequence().id(), e.getMessage());
            }
            return;
        }
        int[] sampled = new int[entries.size()];
        for (int i = 0; i < entries.size(); i++) {
            Active a = active.get(entries.get(i).sequence().id());
            sampled[i] = -1;
            if (a != null && logits[i] != null) {
                Sample s = a.decoder.accept(logits[i]);
                sampled[i] = s.token();
                a.sink.onToken(s);
            }
        }
        scheduler.complete(step, sampled);
        for (Step.Entry entry : entries) {
            Active a = active.get(entry.sequence().id());
            if (a != null && a.decoder.finished()) {
                active.remove(a.sequence.id());
                scheduler.finish(a.sequence);
                liveIds.remove(a.sequence.id());
                a.sink.onFinish(a.decoder.result());
            }
        }
    }

    private void fail(String id, String message) {
        Active a = active.remove(id);
        if (a != null) {
            scheduler.abort(id);
            liveIds.remove(id);
            a.sink.onError(message);
        }
    }

    private void failAll(String message) {
        for (String id : List.copyOf(active.keySet())) {
            fail(id, message);
        }
    }

    private void publishLoad() {
        SchedulerStats s = scheduler.stats();
        load = new EngineLoad(s.waiting() + inbox.size(), s.running(), s.blocksUsed(), s.blocksFree(),
                s.preemptions());
    }

    /** Stops the engine thread; requests still live get an error. Frees the KV pool. */
    @Override
    public void close() {
        closed = true;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Runnable r; (r = inbox.poll()) != null; ) {
            r.run();
        }
        failAll("the attention node is shutting down; retry on another node");
        pool.close();
    }
}
