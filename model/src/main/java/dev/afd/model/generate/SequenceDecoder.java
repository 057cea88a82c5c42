package dev.afd.model.generate;

import dev.afd.model.grammar.GrammarConstraint;
import dev.afd.model.grammar.Vocabulary;
import dev.afd.model.sampling.Sample;
import dev.afd.model.sampling.SequenceSampler;
import dev.afd.model.sampling.TokenLogprob;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The decoding side of one sequence: picks each next token from the logits, keeps what was generated, and decides
 * when the sequence ends (end-of-sequence or stop id, {@code max_tokens}, or the model's context). Until
 * {@code min_tokens} tokens are out, end-of-sequence and stop ids are not sampled at all (vLLM's behaviour). Shared by offline generation and the attention node's engine, so both stop alike.
 *
 * <p>Not thread-safe: one sequence, one engine thread.
 */
public final class SequenceDecoder {
    private final GenerationRequest request;
    private final Set<Integer> eosIds;
    private final int maxPositions;
    private final SequenceSampler sampler;
    /** Null for free text. */
    private final GrammarConstraint grammar;
    /** The ids that end the sequence, kept from being sampled while fewer than {@code min_tokens} are out. */
    private final int[] endIds;
    private final int[] generated;
    private final float[] logprobs;
    private final List<List<TokenLogprob>> top = new ArrayList<>();
    private int count;
    private String finishReason;

    /**
     * @param eosIds the model's end-of-sequence ids
     * @param vocabSize logits per step
     * @param maxPositions the model's context length
     */
    public SequenceDecoder(GenerationRequest request, Set<Integer> eosIds, int vocabSize, int maxPositions) {
        this(request, eosIds, vocabSize, maxPositions, null);
    }

    /**
     * @param vocabulary the tokens' bytes, for a request with a grammar; may be null when the request has none
     * @throws IllegalArgumentException when the request has a grammar and there is no vocabulary to apply it with
     */
    public SequenceDecoder(GenerationRequest request, Set<Integer> eosIds, int vocabSize, int maxPositions,
            Vocabulary vocabulary) {
        if (request.grammar() != null && vocabulary == null) {
            throw new IllegalArgumentException("structured output is not available on this node: it found no"
                    + " byte-level tokenizer.json next to the model's weights (see its log)");
        }
        this.grammar = request.grammar() == null ? null : new GrammarConstraint(request.grammar(), vocabulary,
                endIds(request, eosIds));
        this.request = request;
        this.eosIds = eosIds;
        this.endIds = (request.ignoreEos() ? request.stopTokenIds() : endIds(request, eosIds)).stream()
                .mapToInt(Integer::intValue).toArray();
        this.maxPositions = maxPositions;
        this.sampler = new SequenceSampler(request.sampling(), request.logitControls(), request.promptIds(),
                vocabSize);
        this.generated = new int[request.maxTokens()];
        this.logprobs = new float[request.maxTokens()];
    }

    /** Picks the next token from {@code logits}, records it, and decides whether the sequence has ended. */
    public Sample accept(float[] logits) {
        return accept(logits, SequenceSampler.NO_DRAFT, null);
    }

    /**
     * As {@link #accept(float[])}, where a drafter proposed {@code draft} for this position (speculative decoding):
     * the token picked follows the same rules and distribution, and equals {@code draft} when the draft is accepted
     * (see {@link SequenceSampler#next(float[], int[], int[], int, float[])}).
     *
     * @param draftProbabilities the drafter's distribution q; null for a deterministic drafter
     */
    public Sample accept(float[] logits, int draft, float[] draftProbabilities) {
        if (finishReason != null) {
            throw new IllegalStateException("the sequence has already finished (" + finishReason + ")");
        }
        int[] banned = count < request.minTokens() ? endIds : null;
        Sample s;
        if (grammar == null) {
            s = sampler.next(logits, null, banned, draft, draftProbabilities);
        } else {
            // Tokens left after this one, less one for the end-of-sequence token that finishes the output.
            s = sampler.next(logits, grammar.allowed(request.maxTokens() - count - 2), banned, draft,
                    draftProbabilities);
            grammar.accept(s.token());
        }
        generated[count] = s.token();
        logprobs[count] = s.logprob();
        top.add(s.top());
        count++;
        boolean stopId = (!request.ignoreEos() && eosIds.contains(s.token()))
                || request.stopTokenIds().contains(s.token());
        if (stopId && count >= request.minTokens()) {
            finishReason = "stop";
        } else if (count == request.maxTokens() || request.promptIds().length + count >= maxPositions) {
            finishReason = "length";
        }
        return s;
    }

    private static Set<Integer> endIds(GenerationRequest request, Set<Integer> eosIds) {
        Set<Integer> ends = new HashSet<>(request.stopTokenIds());
        ends.addAll(eosIds);
        return ends;
    }

    /** Ends the sequence early at the caller's request; its finish reason becomes {@code "abort"}. */
    public void abort() {
        if (finishReason == null) {
            finishReason = "abort";
        }
    }

    public GenerationRequest request() {
        return request;
    }

    public boolean finished() {
        return finishReason != null;
    }

    /** {@code "stop"}, {@code "length"}, or {@code null} while running. */
    public String finishReason() {
        return finishReason;
    }

    public int generatedCount() {
        return count;
    }

    /** The last generated token; the sequence's next input. */
    public int lastToken() {
        return generated[count - 1];
    }

    /** Prompt followed by every generated token: what a preempted sequence must recompute. */
    public int[] allTokens() {
        int[] all = Arrays.copyOf(request.promptIds(), request.promptIds().length + count);
        System.arraycopy(generated, 0, all, request.promptIds().length, count);
        return all;
    }

    public GenerationResult result() {
        return new GenerationResult(Arrays.copyOf(generated, count), Arrays.copyOf(logprobs, count), List.copyOf(top),
                finishReason, request.promptIds().length);
    }
}
