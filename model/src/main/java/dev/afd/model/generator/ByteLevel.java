package dev.afd.model.generator;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's byte-level alphabet, as the Hugging Face {@code ByteLevel} pre-tokenizer and decoder use it: every byte is
 * shown as one printable character, so that BPE tokens are plain strings without spaces or control characters.
 */
public final class ByteLevel {
    static final int BYTES = 256;

    /**
     * The split the {@code ByteLevel} pre-tokenizer makes with {@code use_regex: true}: contractions, letter runs,
     * digit runs, other symbol runs (each with an optional leading space), then whitespace.
     */
    static final Pattern SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static final char[] CHAR_OF_BYTE = new char[BYTES];
    /** Bytes in GPT-2's base-vocabulary order: printable ones first, in byte order, then the remapped ones. */
    private static final int[] ORDER = new int[BYTES];
    private static final Map<Character, Integer> BYTE_OF_CHAR = new HashMap<>();

    static {
        int next = 0;
        int remapped = 0;
        for (int b = 0; b < BYTES; b++) {
            if (printable(b)) {
                CHAR_OF_BYTE[b] = (char) b;
                ORDER[next++] = b;
            }
        }
        for (int b = 0; b < BYTES; b++) {
            if (!printable(b)) {
                CHAR_OF_BYTE[b] = (char) (BYTES + remapped++);
                ORDER[next++] = b;
            }
        }
        for (int b = 0; b < BYTES; b++) {
            BYTE_OF_CHAR.put(CHAR_OF_BYTE[b], b);
        }
    }

    private ByteLevel() {}

    private static boolean printable(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /** The 256 single-byte tokens in base-vocabulary order. */
    static List<String> baseTokens() {
        List<String> tokens = new ArrayList<>(BYTES);
        for (int b : ORDER) {
            tokens.add(String.valueOf(CHAR_OF_BYTE[b]));
        }
        return tokens;
    }

    /** The UTF-8 bytes of {@code text} in the byte-level alphabet. */
    static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length);
        for (byte b : bytes) {
            sb.append(CHAR_OF_BYTE[b & 0xFF]);
        }
        return sb.toString();
    }

    /**
     * The bytes a byte-level token string stands for; null when it has a character outside the alphabet (then it
     * is not a byte-level token).
     */
    public static byte[] decode(String token) {
        byte[] out = new byte[token.length()];
        for (int i = 0; i < out.length; i++) {
            int b = BYTE_OF_CHAR.getOrDefault(token.charAt(i), -1);
            if (b < 0) {
                return null;
            }
            out[i] = (byte) b;
        }
        return out;
    }

    /** Pre-tokenizes {@code text} like the {@code ByteLevel} pre-tokenizer: split, then map to the alphabet. */
    static List<String> words(String text) {
        List<String> words = new ArrayList<>();
        Matcher m = SPLIT.matcher(text);
        while (m.find()) {
            words.add(encode(m.group()));
        }
        return words;
    }
}
