package dev.afd.gateway.reasoning;

import dev.afd.model.grammar.Grammar;
import java.util.Locale;

/**
 * A model's reasoning format: everything it generates up to and including {@code endTag} is reasoning, what follows
 * is the answer; with no {@code endTag} at all, the whole output is reasoning and there is no answer. This is vLLM's
 * {@code step3} reasoning parser: Step-3 starts reasoning at once (its chat template opens the {@code <think>}) and
 * ends it with {@code </think>}.
 *
 * <p>Thread-safe (immutable); {@link #stream()} hands out a stateful splitter per choice.
 *
 * @param name the name {@code --reasoning-parser} takes
 * @param endTag the text that ends the reasoning
 */
public record ReasoningParser(String name, String endTag) {
    public static final ReasoningParser STEP3 = new ReasoningParser("step3", "</think>");

    /** The parser {@code --reasoning-parser} names. */
    public static ReasoningParser named(String name) {
        if (name.toLowerCase(Locale.ROOT).equals(STEP3.name)) {
            return STEP3;
        }
        throw new IllegalArgumentException("unknown reasoning parser '" + name + "'; the one supported is '"
                + STEP3.name + "' (leave the option out for none)");
    }

    /** A whole output split; as vLLM, an empty answer after the end tag is no answer (null). */
    public ReasoningSplit split(String text) {
        int end = text.indexOf(endTag);
        if (end < 0) {
            return new ReasoningSplit(text, null);
        }
        return ReasoningSplit.of(text.substring(0, end), text.substring(end + endTag.length()));
    }

    /**
     * Structured output for the answer only: {@code answer} preceded by free reasoning up to and including the end
     * tag, so that the constraint starts after it.
     */
    public Grammar answerOnly(Grammar answer) {
        return ReasoningGrammar.afterEndTag(endTag, answer);
    }

    /** A splitter for one streamed output. */
    public ReasoningStream stream() {
        return new ReasoningStream(endTag);
    }
}
