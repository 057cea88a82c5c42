package dev.afd.gateway.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StopMatcherTest {
    @ParameterizedTest(name = "keep match: {0}")
    @ValueSource(booleans = {false, true})
    void randomPiecesReleaseExactlyTheTextBeforeTheFirstStop(boolean keepMatch) {
        Random random = new Random(11);
        for (int round = 0; round < 3000; round++) {
            String text = randomText(random, random.nextInt(40));
            List<String> stops = new ArrayList<>();
            for (int s = random.nextInt(4); s >= 0; s--) {
                stops.add(randomText(random, 1 + random.nextInt(4)));
            }
            int first = -1;
            for (String s : stops) {
                int at = text.indexOf(s);
                if (at >= 0 && (first < 0 || at < first)) {
                    first = at;
                }
            }
            String before = first < 0 ? text : text.substring(0, first);

            StopMatcher m = new StopMatcher(stops, keepMatch);
            StringBuilder released = new StringBuilder();
            // Pieces of whole characters (decoded text never splits a surrogate pair), empty ones included.
            for (int i = 0; i < text.length(); ) {
                int end = Math.min(text.length(), i + random.nextInt(5));
                if (end < text.length() && Character.isLowSurrogate(text.charAt(end))) {
                    end++;
                }
                released.append(m.feed(text.substring(i, end)));
                if (m.matched() == null) {
                    assertThat(before).as("released text stays a prefix of the answer").startsWith(released);
                }
                i = end;
            }
            if (m.matched() == null) {
                released.append(m.flush());
            }
            String expected = keepMatch && m.matched() != null ? before + m.matched() : before;
            assertThat(released.toString()).as(text + " " + stops).isEqualTo(expected);
            assertThat(m.matched() != null).isEqualTo(first >= 0);
            if (first >= 0) {
                assertThat(text.indexOf(m.matched())).isEqualTo(first);
            }
        }
    }

    @Test
    void holdsBackOnlyWhatCouldStartAStop() {
        StopMatcher m = new StopMatcher(List.of("END"), false);
        assertThat(m.feed("hello E")).isEqualTo("hello ");
        assertThat(m.feed("N")).isEmpty();
        assertThat(m.feed("x world")).isEqualTo("ENx world");
        assertThat(m.feed("...EN")).isEqualTo("...");
        assertThat(m.feed("D and more")).isEmpty();
        assertThat(m.matched()).isEqualTo("END");
        assertThat(m.feed("ignored")).isEmpty();
    }

    @Test
    void keptMatchEndsTheReleasedText() {
        StopMatcher m = new StopMatcher(List.of("END"), true);
        assertThat(m.feed("hello E")).isEqualTo("hello ");
        assertThat(m.feed("ND and more")).isEqualTo("END");
        assertThat(m.keepsMatch()).isTrue();
        assertThat(m.feed("ignored")).isEmpty();
    }

    @Test
    void withoutStopsEverythingPassesAtOnce() {
        StopMatcher m = new StopMatcher(List.of(), false);
        assertThat(m.feed("abc")).isEqualTo("abc");
        assertThat(m.flush()).isEmpty();
    }

    private static String randomText(Random random, int length) {
        String alphabet = "ab c😀";
        StringBuilder sb = new StringBuilder();
        while (sb.length() < length) {
            int i = random.nextInt(alphabet.length() - 1);
            sb.append(i == 4 ? "😀" : String.valueOf(alphabet.charAt(i)));
        }
        return sb.toString();
    }
}
