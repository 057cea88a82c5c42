package dev.afd.bench.serve;

/**
 * One request of a workload, serialised before the run so that sending it costs no JSON work.
 *
 * @param body the JSON request body
 * @param inputTokens the prompt's length in tokens when the client knows it (token-id prompts), else -1; the
 *     server's usage figure wins when it sends one
 */
public record PreparedRequest(byte[] body, int inputTokens) {}
