package dev.afd.gateway.tokenizer;

import java.util.Arrays;

/**
 * Turns a growing list of generated token ids into text deltas, never splitting a character: a token that ends in
 * the middle of a multi-byte UTF-8 sequence decodes to U+FFFD, so its text is held back until a later token
 * completes it. Each step decodes only a short window (the last stable tokens plus the new ones), the way vLLM does,
 * so tokenizers whose text depends on the neighbouring tokens (leading-space markers) decode right too.
 *
 * <p>Not thread-safe: one sequence, one thread at a time.
 */
public final class IncrementalDetokenizer {
    /** Prompt tokens kept as left context, as vLLM's INITIAL_INCREMENTAL_DETOKENIZATION_OFFSET. */
    private static final int PROMPT_CONTEXT = 5;
    private static final char REPLACEMENT = '\uFFFD';

    private final ModelTokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private int[] ids;
    private int count;
    /** Start of the decode window: tokens before it are never decoded again. */
    private int prefixOffset;
    /** Tokens before this are already returned as text. */
    private int readOffset;
    /** Text of {@code ids[prefixOffset, readOffset)}. */
    private String prefixText;

    /** @param promptIds the prompt; its last few tokens are context for the first generated ones */
    public IncrementalDetokenizer(ModelTokenizer tokenizer, int[] promptIds, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        int context = Math.min(PROMPT_CONTEXT, promptIds.length);
        this.ids = Arrays.copyOfRange(promptIds, promptIds.length - context, promptIds.length + 16);
        this.count = context;
        this.prefixOffset = 0;
        this.readOffset = context;
        this.prefixText = decode(prefixOffset, readOffset);
    }

    /** Adds a generated token; returns the text that became complete with it ("" while a character is partial). */
    public String next(int id) {
        if (count == ids.length) {
            ids = Arrays.copyOf(ids, ids.length * 2);
        }
        ids[count++] = id;
        String text = decode(prefixOffset, count);
        if (text.length() > prefixText.length() && text.charAt(text.length() - 1) != REPLACEMENT) {
            return advance(text);
        }
        return "";
    }

    /** Whatever is still held back, once the sequence has ended (an unfinished character comes out as U+FFFD). */
    public String flush() {
        String text = decode(prefixOffset, count);
        return text.length() > prefixText.length() ? advance(text) : "";
    }

    private String advance(String text) {
        String delta = text.substring(prefixText.length());
        prefixOffset = readOffset;
        readOffset = count;
        prefixText = decode(prefixOffset, readOffset);
        return delta;
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(ids, from, to, skipSpecialTokens);
    }
}
