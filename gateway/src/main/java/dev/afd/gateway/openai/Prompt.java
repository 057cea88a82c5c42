package dev.afd.gateway.openai;

/** One prompt of a completions request: text to tokenize, or token ids given by the client. */
public sealed interface Prompt {
    record Text(String text) implements Prompt {}

    record Tokens(int[] ids) implements Prompt {}
}
