package dev.afd.bench.serve;

import java.io.IOException;
import java.util.List;

/**
 * Where a workload's requests come from ({@code --dataset}). Every request streams with the usage chunk and
 * {@code ignore_eos: true}, so it produces exactly its {@code max_tokens} output tokens on servers that honour
 * {@code ignore_eos} (vLLM, SGLang, ours).
 */
public sealed interface Dataset permits RandomDataset, PrefixDataset, ShareGptDataset, JsonlDataset {
    /**
     * What building requests may need from the server under test.
     *
     * @param tokens counts the tokens of a text with the served model's tokenizer
     */
    record Context(Endpoint endpoint, String model, TokenCounter tokens) {}

    /** The served model's token count of a text (the server's {@code /tokenize}). */
    @FunctionalInterface
    interface TokenCounter {
        int count(String text) throws IOException, InterruptedException;
    }

    /** {@code count} requests; the same seed gives the same requests. */
    List<PreparedRequest> requests(Context context, int count, long seed) throws IOException, InterruptedException;

    /**
     * Whether prompts are token-id lists, exact whatever the server's tokenizer, which only {@code /v1/completions}
     * takes; otherwise they are text, sent as one user message on the chat endpoint.
     */
    boolean tokenIdPrompts();

    /** How the prompts are made, for the results' environment. */
    String describe();
}
