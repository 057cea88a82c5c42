package dev.afd.gateway;

import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.tokenizer.ChatTemplate;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Turns prompts into token ids without letting one request take the gateway's CPU or memory: a text that could not
 * fit the model's context even at the most bytes per token is refused before it is tokenized (cheap: one pass over
 * its characters), and only so many prompts are tokenized or rendered at once; the others wait their turn, up to
 * {@value #WAIT_SECONDS} s, then get a 503.
 *
 * <p>Thread-safe: the tokenizer is, and the turns are a semaphore.
 */
final class PromptEncoder {
    static final int WAIT_SECONDS = 10;

    private final ModelTokenizer tokenizer;
    private final int maxModelLen;
    private final Semaphore turns;

    PromptEncoder(ModelTokenizer tokenizer, int maxModelLen, int concurrent) {
        this.tokenizer = tokenizer;
        this.maxModelLen = maxModelLen;
        this.turns = new Semaphore(concurrent, true);
    }

    /** The ids of {@code text}; {@code param} names the request field it came from. */
    int[] encode(String text, boolean addSpecialTokens, String param) {
        checkLength(text, param);
        acquire();
        try {
            return tokenizer.encode(text, addSpecialTokens);
        } finally {
            turns.release();
        }
    }

    /** A conversation rendered through the model's chat template, then tokenized. */
    int[] chat(ChatTemplate template, List<Map<String, Object>> messages, boolean addGenerationPrompt,
            Map<String, Object> variables, boolean addSpecialTokens) {
        String prompt;
        acquire();
        try {
            prompt = template.render(messages, addGenerationPrompt, variables);
        } finally {
            turns.release();
        }
        return encode(prompt, addSpecialTokens, "messages");
    }

    private void checkLength(String text, String param) {
        long bytes = utf8Length(text);
        long fewestTokens = bytes / tokenizer.maxTokenBytes();
        if (fewestTokens >= maxModelLen) {
            throw ApiException.badRequest(param, "This model's maximum context length is " + maxModelLen
                    + " tokens. However, your prompt is " + bytes + " bytes, which is at least " + fewestTokens
                    + " tokens (no token of this model covers more than " + tokenizer.maxTokenBytes() + " bytes)."
                    + " Please reduce the length of the input.");
        }
    }

    private void acquire() {
        boolean got;
        try {
            got = turns.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            got = false;
        }
        if (!got) {
            throw ApiException.unavailable("the gateway is busy tokenizing other prompts; retry shortly", 1);
        }
    }

    /** Bytes of {@code s} in UTF-8, without encoding it. */
    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
