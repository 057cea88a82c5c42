package dev.afd.gateway.structured;

import dev.afd.model.grammar.GrammarBuilder;
import dev.afd.model.grammar.GrammarBuilder.Fragment;
import java.util.ArrayList;
import java.util.List;

/** Byte-level fragments for UTF-8 characters: what a "character" is in a grammar that reads bytes. */
final class Utf8Chars {
    private Utf8Chars() {}

    /** Any well-formed UTF-8 character of two to four bytes (every character outside ASCII). */
    static Fragment nonAscii(GrammarBuilder b) {
        List<Fragment> forms = new ArrayList<>();
        forms.add(b.seq(b.bytes(0xC2, 0xDF), tail(b)));
        forms.add(b.seq(b.bytes(0xE0, 0xE0), b.bytes(0xA0, 0xBF), tail(b)));
        forms.add(b.seq(b.byteSet(0xE1, 0xEC, 0xEE, 0xEF), tail(b), tail(b)));
        forms.add(b.seq(b.bytes(0xED, 0xED), b.bytes(0x80, 0x9F), tail(b)));
        forms.add(b.seq(b.bytes(0xF0, 0xF0), b.bytes(0x90, 0xBF), tail(b), tail(b)));
        forms.add(b.seq(b.bytes(0xF1, 0xF3), tail(b), tail(b), tail(b)));
        forms.add(b.seq(b.bytes(0xF4, 0xF4), b.bytes(0x80, 0x8F), tail(b), tail(b)));
        return b.alt(forms);
    }

    private static Fragment tail(GrammarBuilder b) {
        return b.bytes(0x80, 0xBF);
    }
}
