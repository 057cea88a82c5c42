package dev.afd.gateway.structured;

import dev.afd.model.grammar.GrammarBuilder;
import dev.afd.model.grammar.GrammarBuilder.Fragment;
import java.util.ArrayList;
import java.util.List;

/**
 * Compiles a regular expression (the common subset: literals, classes, {@code .}, escapes {@code \d \w \s} and
 * their negations, groups, alternation, the quantifiers {@code * + ? {n} {n,} {n,m}}) into a grammar fragment that
 * matches the whole text, as vLLM's {@code regex} constraint does ({@code ^} and {@code $} at the ends are allowed and
 * mean nothing more). Back-references and look-arounds are refused, naming them.
 *
 * <p>In a JSON string ({@code pattern}) the text is JSON-escaped on the wire: classes then leave out {@code "},
 * {@code \} and control characters, and a pattern that needs them is refused.
 *
 * <p>Not thread-safe: one compile, one thread.
 */
final class RegexGrammar {
    /** Counted repetitions are unrolled; bounds above this are refused rather than blowing up the grammar. */
    static final int MAX_COUNT = 1000;

    /** A parsed expression; compiled as many times as a repetition needs copies of it. */
    private sealed interface Node permits Chars, Seq, Alt, Repeat {}

    /** One character from a set: ASCII members, and either every non-ASCII character or some listed ones. */
    private record Chars(boolean[] ascii, boolean allNonAscii, List<String> nonAscii) implements Node {}

    private record Seq(List<Node> parts) implements Node {}

    private record Alt(List<Node> choices) implements Node {}

    private record Repeat(Node body, int min, int max) implements Node {}

    private final String pattern;
    private final boolean jsonString;
    private final String where;
    private int at;

    private RegexGrammar(String pattern, boolean jsonString, String where) {
        this.pattern = pattern;
        this.jsonString = jsonString;
        this.where = where;
    }

    /**
     * @param jsonString the text sits inside a JSON string (characters JSON escapes are left out)
     * @param where names the pattern in error messages
     * @throws UnsupportedConstraintException naming the construct this cannot compile
     */
    static Fragment compile(GrammarBuilder b, String pattern, boolean jsonString, String where) {
        RegexGrammar r = new RegexGrammar(pattern, jsonString, where);
        if (pattern.startsWith("^")) {
            r.at = 1;
        }
        Node n = r.alternation();
        if (r.at < pattern.length()) {
            throw r.error("unbalanced ')'");
        }
        return r.emit(b, n);
    }

    private Node alternation() {
        List<Node> choices = new ArrayList<>();
        choices.add(sequence());
        while (peek('|')) {
            at++;
            choices.add(sequence());
        }
        return choices.size() == 1 ? choices.getFirst() : new Alt(choices);
    }

    private Node sequence() {
        List<Node> parts = new ArrayList<>();
        while (at < pattern.length() && !peek('|') && !peek(')')) {
            if (peek('$') && at == pattern.length() - 1) {
                at++;
                continue;
            }
            parts.add(quantified(atom()));
        }
        return new Seq(parts);
    }

    private Node quantified(Node atom) {
        while (at < pattern.length()) {
            char c = pattern.charAt(at);
            int min;
            int max;
            if (c == '*') {
                min = 0;
                max = -1;
                at++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                at++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                at++;
            } else if (c == '{' && pattern.indexOf('}', at) > at && pattern.substring(at + 1, pattern.indexOf('}', at))
                    .matches("\\d+(,\\d*)?")) {
                String body = pattern.substring(at + 1, pattern.indexOf('}', at));
                at = pattern.indexOf('}', at) + 1;
                int comma = body.indexOf(',');
                min = Integer.parseInt(comma < 0 ? body : body.substring(0, comma));
                max = comma < 0 ? min : comma == body.length() - 1 ? -1 : Integer.parseInt(body.substring(comma + 1));
                if (max >= 0 && max < min || Math.max(min, max) > MAX_COUNT) {
                    throw error("repetition {" + body + "} must have min <= max <= " + MAX_COUNT);
                }
            } else {
                return atom;
            }
            // Lazy and possessive suffixes change how a match is found, not which texts match.
            if (at < pattern.length() && (pattern.charAt(at) == '?' || pattern.charAt(at) == '+')) {
                at++;
            }
            atom = new Repeat(atom, min, max);
        }
        return atom;
    }

    private Node atom() {
        char c = pattern.charAt(at++);
        switch (c) {
            case '(' -> {
                if (peek('?')) {
                    if (pattern.startsWith("?:", at)) {
                        at += 2;
                    } else {
                        throw error("group construct '(" + pattern.substring(at, Math.min(at + 2, pattern.length()))
                                + "' (look-around or named group)");
                    }
                }
                Node inner = alternation();
                if (!peek(')')) {
                    throw error("missing ')'");
                }
                at++;
                return inner;
            }
            case '[' -> {
                return charClass();
            }
            case '.' -> {
                boolean[] ascii = new boolean[128];
                for (int i = 0; i < 128; i++) {
                    ascii[i] = i != '\n';
                }
                return chars(ascii, true, List.of());
            }
            case '\\' -> {
                return escape(false);
            }
            case '^', '$' -> throw error("anchor '" + c + "' inside the pattern");
            case '*', '+', '?' -> throw error("quantifier '" + c + "' with nothing to repeat");
            default -> {
                int cp = pattern.codePointAt(at - 1);
                at += Character.charCount(cp) - 1;
                return single(cp);
            }
        }
    }

    private Node single(int cp) {
        boolean[] ascii = new boolean[128];
        if (cp < 128) {
            ascii[cp] = true;
            return chars(ascii, false, List.of());
        }
        return chars(ascii, false, List.of(Character.toString(cp)));
    }

    /** After a backslash; {@code inClass} for escapes inside brackets. */
    private Node escape(boolean inClass) {
        if (at >= pattern.length()) {
            throw error("trailing backslash");
        }
        char c = pattern.charAt(at++);
        boolean[] ascii = new boolean[128];
        switch (c) {
            case 'd', 'D' -> {
                for (int i = '0'; i <= '9'; i++) {
                    ascii[i] = true;
                }
                return c == 'd' ? chars(ascii, false, List.of()) : negate(ascii);
            }
            case 'w', 'W' -> {
                for (int i = 0; i < 128; i++) {
                    ascii[i] = Character.isLetterOrDigit(i) || i == '_';
                }
                return c == 'w' ? chars(ascii, false, List.of()) : negate(ascii);
            }
            case 's', 'S' -> {
                for (int i : new int[] {' ', '\t', '\n', '\r', 0x0B, '\f'}) {
                    ascii[i] = true;
                }
                return c == 's' ? chars(ascii, false, List.of()) : negate(ascii);
            }
            case 'n' -> {
                return single('\n');
            }
            case 't' -> {
                return single('\t');
            }
            case 'r' -> {
                return single('\r');
            }
            case 'u' -> {
                if (at + 4 > pattern.length() || !pattern.substring(at, at + 4).matches("[0-9a-fA-F]{4}")) {
                    throw error("\\u needs four hex digits");
                }
                at += 4;
                return single(Integer.parseInt(pattern.substring(at - 4, at), 16));
            }
            default -> {
                if (Character.isLetterOrDigit(c)) {
                    throw error("escape '\\" + c + "'" + (Character.isDigit(c) ? " (back-reference)" : ""));
                }
                return single(c);
            }
        }
    }

    private Node negate(boolean[] ascii) {
        boolean[] out = new boolean[128];
        for (int i = 0; i < 128; i++) {
            out[i] = !ascii[i];
        }
        return chars(out, true, List.of());
    }

    private Node charClass() {
        boolean negated = peek('^');
        if (negated) {
            at++;
        }
        boolean[] ascii = new boolean[128];
        boolean allNonAscii = false;
        List<String> nonAscii = new ArrayList<>();
        boolean first = true;
        while (at < pattern.length() && (first || !peek(']'))) {
            first = false;
            int lo;
            if (peek('\\')) {
                at++;
                Chars e = (Chars) escape(true);
                if (e.ascii.length == 128 && countOf(e) != 1) {
                    or(ascii, e.ascii);
                    allNonAscii |= e.allNonAscii;
                    continue;
                }
                lo = e.nonAscii.isEmpty() ? indexOf(e.ascii) : e.nonAscii.getFirst().codePointAt(0);
            } else {
                lo = pattern.codePointAt(at);
                at += Character.charCount(lo);
            }
            int hi = lo;
            if (peek('-') && at + 1 < pattern.length() && pattern.charAt(at + 1) != ']') {
                at++;
                if (peek('\\')) {
                    at++;
                    Chars e = (Chars) escape(true);
                    hi = e.nonAscii.isEmpty() ? indexOf(e.ascii) : e.nonAscii.getFirst().codePointAt(0);
                } else {
                    hi = pattern.codePointAt(at);
                    at += Character.charCount(hi);
                }
            }
            if (hi < lo) {
                throw error("class range out of order");
            }
            if (hi >= 128 && hi - Math.max(lo, 128) > 256) {
                throw error("class range beyond ASCII wider than 256 characters");
            }
            for (int cp = lo; cp <= hi; cp++) {
                if (cp < 128) {
                    ascii[cp] = true;
                } else {
                    nonAscii.add(Character.toString(cp));
                }
            }
        }
        if (!peek(']')) {
            throw error("missing ']'");
        }
        at++;
        if (negated) {
            if (!nonAscii.isEmpty()) {
                throw error("negated class with characters beyond ASCII");
            }
            return negate(ascii);
        }
        return chars(ascii, allNonAscii, allNonAscii ? List.of() : nonAscii);
    }

    private static int countOf(Chars c) {
        int n = c.allNonAscii ? 2 : c.nonAscii.size();
        for (boolean b : c.ascii) {
            n += b ? 1 : 0;
        }
        return n;
    }

    private static int indexOf(boolean[] ascii) {
        for (int i = 0; i < ascii.length; i++) {
            if (ascii[i]) {
                return i;
            }
        }
        return 0;
    }

    private static void or(boolean[] into, boolean[] from) {
        for (int i = 0; i < into.length; i++) {
            into[i] |= from[i];
        }
    }

    /** A character set, less what a JSON string must escape when the text sits in one. */
    private Chars chars(boolean[] ascii, boolean allNonAscii, List<String> nonAscii) {
        if (jsonString) {
            for (int i = 0; i < 0x20; i++) {
                ascii[i] = false;
            }
            ascii['"'] = false;
            ascii['\\'] = false;
        }
        return new Chars(ascii, allNonAscii, nonAscii);
    }

    private Fragment emit(GrammarBuilder b, Node n) {
        return switch (n) {
            case Chars c -> emitChars(b, c);
            case Seq s -> b.seq(s.parts.stream().map(p -> emit(b, p)).toList());
            case Alt a -> b.alt(a.choices.stream().map(p -> emit(b, p)).toList());
            case Repeat r -> b.repeat(() -> emit(b, r.body), r.min, r.max);
        };
    }

    private Fragment emitChars(GrammarBuilder b, Chars c) {
        List<Integer> ranges = new ArrayList<>();
        for (int i = 0; i < 128; i++) {
            if (c.ascii[i]) {
                int j = i;
                while (j + 1 < 128 && c.ascii[j + 1]) {
                    j++;
                }
                ranges.add(i);
                ranges.add(j);
                i = j;
            }
        }
        List<Fragment> choices = new ArrayList<>();
        if (!ranges.isEmpty()) {
            choices.add(b.byteSet(ranges.stream().mapToInt(Integer::intValue).toArray()));
        }
        if (c.allNonAscii) {
            choices.add(Utf8Chars.nonAscii(b));
        }
        for (String s : c.nonAscii) {
            choices.add(b.literal(s));
        }
        if (choices.isEmpty()) {
            throw error("a character class that matches nothing" + (jsonString ? " a JSON string can hold" : ""));
        }
        return choices.size() == 1 ? choices.getFirst() : b.alt(choices);
    }

    private boolean peek(char c) {
        return at < pattern.length() && pattern.charAt(at) == c;
    }

    private UnsupportedConstraintException error(String what) {
        return new UnsupportedConstraintException(where + " /" + pattern + "/ is not supported at offset " + at + ": "
                + what + "; use the common regular-expression subset (classes, groups, |, * + ? {n,m})");
    }
}
