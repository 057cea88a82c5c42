package dev.afd.gateway.routing;

import dev.afd.proto.TokenOutput;
import dev.afd.proto.Usage;
import io.grpc.Status;
import java.util.List;

/**
 * Receives one Generate call's output. Calls for one call come one at a time, in order, on a gRPC transport thread:
 * implementations must not block. After {@link #onFinish} or {@link #onError} nothing more arrives.
 */
public interface GenerateListener {
    /** The prompt's log-probabilities (tokens 1..n-1), once, before the first token; only when asked for. */
    void onPromptLogprobs(List<TokenOutput> prompt);

    /** Newly sampled tokens (usually one). */
    void onTokens(List<TokenOutput> tokens);

    /** The request ended on the node: {@code finishReason} is "stop", "length" or "abort". */
    void onFinish(String finishReason, Usage usage);

    /** The call failed, or was cancelled (then the status is CANCELLED). */
    void onError(Status status);
}
