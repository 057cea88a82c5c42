package dev.afd.gateway.reasoning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReasoningParserTest {
    private static final ReasoningParser STEP3 = ReasoningParser.STEP3;

    @Test
    void wholeOutputSplitsAtTheEndTag() {
        assertThat(STEP3.split("Let me see.</think>Four.")).isEqualTo(new ReasoningSplit("Let me see.", "Four."));
        assertThat(STEP3.split("a</think>b</think>c")).isEqualTo(new ReasoningSplit("a", "b</think>c"));
    }

    @Test
    void withoutTheEndTagEverythingIsReasoning() {
        assertThat(STEP3.split("still thinking </thi")).isEqualTo(new ReasoningSplit("still thinking </thi", null));
        assertThat(STEP3.split("")).isEqualTo(new ReasoningSplit("", null));
    }

    @Test
    void emptyPartsAreNull() {
        assertThat(STEP3.split("thought</think>")).isEqualTo(new ReasoningSplit("thought", null));
        assertThat(STEP3.split("</think>answer")).isEqualTo(new ReasoningSplit(null, "answer"));
    }

    @Test
    void streamedSplitsMatchTheWholeSplitWhereverThePiecesBreak() {
        String text = "I think <b> and </thin k</think>The </think> answer";
        for (int a = 0; a <= text.length(); a++) {
            for (int b = a; b <= text.length(); b++) {
                List<String> pieces = List.of(text.substring(0, a), text.substring(a, b), text.substring(b));
                assertThat(streamed(pieces)).as("pieces %s", pieces)
                        .isEqualTo(List.of("I think <b> and </thin k", "The </think> answer"));
            }
        }
    }

    @Test
    void aHeldBackTagStartIsReleasedWhenTheTagDoesNotFollow() {
        ReasoningStream s = STEP3.stream();
        assertThat(s.feed("so </th")).isEqualTo(new ReasoningSplit("so ", null));
        assertThat(s.feed("e end")).isEqualTo(new ReasoningSplit("</the end", null));
        assertThat(s.feed(" <")).isEqualTo(new ReasoningSplit(" ", null));
        assertThat(s.flush()).isEqualTo(new ReasoningSplit("<", null));
    }

    @Test
    void anOverlappingTagStartIsHeldOnlyAsFarAsItCouldStillMatch() {
        ReasoningStream s = STEP3.stream();
        assertThat(s.feed("<</")).isEqualTo(new ReasoningSplit("<", null));
        assertThat(s.feed("think>ok")).isEqualTo(new ReasoningSplit(null, "ok"));
        assertThat(s.flush().isEmpty()).isTrue();
    }

    @Test
    void onlyStep3IsKnown() {
        assertThat(ReasoningParser.named("STEP3")).isSameAs(STEP3);
        assertThatThrownBy(() -> ReasoningParser.named("deepseek_r1"))
                .hasMessageContaining("unknown reasoning parser 'deepseek_r1'").hasMessageContaining("step3");
    }

    /** The pieces' reasoning and answer, each joined. */
    private static List<String> streamed(List<String> pieces) {
        ReasoningStream s = STEP3.stream();
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder();
        List<ReasoningSplit> out = new ArrayList<>();
        pieces.forEach(p -> out.add(s.feed(p)));
        out.add(s.flush());
        for (ReasoningSplit r : out) {
            reasoning.append(r.reasoning() == null ? "" : r.reasoning());
            content.append(r.content() == null ? "" : r.content());
        }
        return List.of(reasoning.toString(), content.toString());
    }
}
