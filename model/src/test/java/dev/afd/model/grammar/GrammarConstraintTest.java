package dev.afd.model.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.model.grammar.GrammarBuilder.Fragment;
import dev.afd.model.grammar.GrammarBuilder.Rule;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The trie walk against a token-by-token check, and the matcher on grammars with known languages. */
class GrammarConstraintTest {
    private static final int END = 0;

    /** Balanced parentheses around digits: {@code S -> d | ( S ) | S , S}-like, written without left recursion. */
    private static Grammar nested() {
        GrammarBuilder b = new GrammarBuilder();
        Rule s = b.rule();
        Fragment item = b.alt(List.of(b.bytes('0', '9'), b.seq(b.literal("("), b.call(s), b.literal(")"))));
        Fragment more = b.repeat(() -> b.seq(b.literal(","), b.alt(List.of(b.bytes('0', '9'),
                b.seq(b.literal("("), b.call(s), b.literal(")"))))), 0, -1);
        b.define(s, b.seq(item, more));
        return b.build(b.call(s));
    }

    private static Vocabulary vocabulary(Random random) {
        List<byte[]> tokens = new ArrayList<>();
        tokens.add(null);
        for (int c = 0; c < 256; c++) {
            tokens.add(new byte[] {(byte) c});
        }
        byte[] alphabet = "0123456789(),ab".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 600; i++) {
            byte[] t = new byte[2 + random.nextInt(5)];
            for (int k = 0; k < t.length; k++) {
                t[k] = alphabet[random.nextInt(alphabet.length)];
            }
            tokens.add(t);
        }
        return new Vocabulary(tokens.toArray(byte[][]::new));
    }

    @Test
    void theTrieWalkAllowsExactlyTheTokensThatKeepTheTextInTheLanguage() {
        Random random = new Random(7);
        Vocabulary v = vocabulary(random);
        Grammar g = nested();
        for (int run = 0; run < 20; run++) {
            GrammarConstraint constraint = new GrammarConstraint(g, v, Set.of(END));
            GrammarMatcher reference = new GrammarMatcher(g);
            GrammarMatcher.State state = reference.start();
            for (int step = 0; step < 30; step++) {
                int[] allowed = constraint.allowed(Integer.MAX_VALUE / 8);
                List<Integer> expected = new ArrayList<>();
                for (int t = 0; t < v.size(); t++) {
                    boolean ok = t == END ? state.accepting()
                            : !reference.advance(state, v.bytes(t)).dead();
                    if (ok) {
                        expected.add(t);
                    }
                }
                assertThat(Arrays.stream(allowed).boxed().toList()).isEqualTo(expected);
                int pick = allowed[random.nextInt(allowed.length)];
                if (pick == END) {
                    break;
                }
                constraint.accept(pick);
                state = reference.advance(state, v.bytes(pick));
            }
        }
    }

    @Test
    void theMatcherAcceptsTheLanguageAndNothingElse() {
        GrammarMatcher m = new GrammarMatcher(nested());
        for (String ok : List.of("1", "(2)", "((3),4)", "1,2,(3,(4))")) {
            assertThat(m.advance(m.start(), bytes(ok)).accepting()).as(ok).isTrue();
        }
        for (String bad : List.of("", "(", "(1", "1,", "()", "1)")) {
            GrammarMatcher.State s = m.advance(m.start(), bytes(bad));
            assertThat(s.accepting()).as(bad).isFalse();
        }
        assertThat(m.advance(m.start(), bytes("1)")).dead()).isTrue();
        // Fewest bytes to finish: "((" needs a digit and two closing parentheses.
        assertThat(m.advance(m.start(), bytes("((")).distance()).isEqualTo(3);
    }

    @Test
    void aShortBudgetAllowsOnlyTokensThatStillFinishInTime() {
        Random random = new Random(3);
        Vocabulary v = vocabulary(random);
        GrammarConstraint c = new GrammarConstraint(nested(), v, Set.of(END));
        c.accept(1 + '(');
        c.accept(1 + '(');
        // One more token after this one: this one must leave at most one byte to go, or as little as any token can.
        GrammarMatcher reference = new GrammarMatcher(nested());
        GrammarMatcher.State state = reference.advance(reference.start(), bytes("(("));
        int best = Integer.MAX_VALUE;
        for (int t = 1; t < v.size(); t++) {
            best = Math.min(best, reference.advance(state, v.bytes(t)).distance());
        }
        int[] allowed = c.allowed(1);
        assertThat(allowed).isNotEmpty();
        for (int t : allowed) {
            assertThat(reference.advance(state, v.bytes(t)).distance()).as("token %d", t)
                    .isLessThanOrEqualTo(Math.max(1, best));
        }
        assertThat(c.allowed(100).length).isGreaterThan(allowed.length);
    }

    @Test
    void malformedGrammarsFromTheWireAreRefusedNamingTheFault() {
        assertThatThrownBy(() -> new Grammar(2, new int[] {0, Grammar.BYTES, 0, 300, 1}, new int[] {1}, 0))
                .hasMessageContaining("byte range");
        assertThatThrownBy(() -> new Grammar(2, new int[] {0, Grammar.EPSILON, 0, 0, 5}, new int[] {1}, 0))
                .hasMessageContaining("edge target node 5");
        assertThatThrownBy(() -> new Grammar(2, new int[] {0, 9, 0, 0, 1}, new int[] {1}, 0))
                .hasMessageContaining("kind 9");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
