package dev.afd.attention.spec;

import dev.afd.model.family.CausalLm;
import dev.afd.model.family.MultiTokenPredictor;
import java.util.Locale;

/**
 * Whether and how the engine decodes speculatively.
 *
 * @param method where drafts come from
 * @param tokens drafts per sequence and step, K (0 turns speculation off)
 * @param ngramMin shortest suffix the {@code ngram} method looks up (the {@code mtp} method ignores both lengths)
 * @param ngramMax longest suffix the {@code ngram} method looks up
 */
public record SpeculativeConfig(Method method, int tokens, int ngramMin, int ngramMax) {
    /** Most drafts per step: each costs a row of every layer whether or not it is accepted. */
    public static final int MAX_TOKENS = 8;

    /** Where drafts come from. */
    public enum Method {
        /** Prompt lookup over the sequence's own tokens ({@link NgramDrafter}). */
        NGRAM,
        /** The model's multi-token-prediction layers. */
        MTP;

        /** The method named {@code name} ({@code ngram} or {@code mtp}, any case). */
        public static Method parse(String name) {
            try {
                return valueOf(name.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--speculative-method must be ngram or mtp, got " + name);
            }
        }
    }

    public SpeculativeConfig {
        if (tokens < 0 || tokens > MAX_TOKENS) {
            throw new IllegalArgumentException("--speculative-tokens must be between 0 (off) and " + MAX_TOKENS
                    + ", got " + tokens);
        }
        if (ngramMin < 1 || ngramMax < ngramMin) {
            throw new IllegalArgumentException("--ngram-min and --ngram-max must satisfy 1 <= min <= max, got "
                    + ngramMin + " and " + ngramMax);
        }
    }

    /** No speculation. */
    public static SpeculativeConfig off() {
        return new SpeculativeConfig(Method.NGRAM, 0, 1, 3);
    }

    /** K n-gram drafts, looking up suffixes of 1 to 3 tokens (vLLM's prompt_lookup_min and _max defaults here). */
    public static SpeculativeConfig ngram(int tokens) {
        return new SpeculativeConfig(Method.NGRAM, tokens, 1, 3);
    }

    /** K drafts from the model's multi-token-prediction layers. */
    public static SpeculativeConfig mtp(int tokens) {
        return new SpeculativeConfig(Method.MTP, tokens, 1, 3);
    }

    public boolean enabled() {
        return tokens > 0;
    }

    /**
     * The drafter this configuration names, for {@code model}.
     *
     * @throws IllegalArgumentException for {@code mtp} when the model has no multi-token-prediction layers
     */
    public Drafter drafter(CausalLm model) {
        return switch (method) {
            case NGRAM -> new NgramDrafter(ngramMin, ngramMax);
            case MTP -> {
                if (model instanceof MultiTokenPredictor p && p.mtpLayers() > 0) {
                    yield new MtpDrafter(p);
                }
                throw new IllegalArgumentException("--speculative-method mtp drafts with the model's"
                        + " multi-token-prediction layers, and this model (model_type "
                        + model.config().modelType() + ") has none; use --speculative-method ngram");
            }
        };
    }
}
