package dev.afd.gateway.reasoning;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.grammar.Grammar;
import dev.afd.model.grammar.GrammarBuilder;
import dev.afd.model.grammar.GrammarMatcher;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ReasoningGrammarTest {
    /** The answer "ok" or "no", as structured output would compile it. */
    private static final Grammar ANSWER = answer();

    private static Grammar answer() {
        GrammarBuilder b = new GrammarBuilder();
        return b.build(b.alt(java.util.List.of(b.literal("ok"), b.literal("no"))));
    }

    private static GrammarMatcher.State read(String text) {
        GrammarMatcher m = new GrammarMatcher(ReasoningParser.STEP3.answerOnly(ANSWER));
        return m.advance(m.start(), text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void reasoningIsFreeAndTheAnswerIsConstrained() {
        assertThat(read("any <b>text</b> </thin </</think>ok").accepting()).isTrue();
        assertThat(read("</think>no").accepting()).isTrue();
        assertThat(read("x</think>maybe").dead()).isTrue();
    }

    @Test
    void theOutputIsNotCompleteBeforeTheAnswer() {
        assertThat(read("thinking").accepting()).isFalse();
        assertThat(read("thinking").dead()).isFalse();
        assertThat(read("ok").accepting()).isFalse();
        assertThat(read("thinking</think>").accepting()).isFalse();
    }

    @Test
    void theAnswerStartsAtTheFirstEndTag() {
        assertThat(read("a</think></think>ok").dead()).isTrue();
    }
}
