package dev.afd.gateway.openai;

import java.util.List;

/**
 * A {@code POST /v1/completions} request.
 *
 * @param model the model asked for, or null for the one served
 * @param prompts one or more prompts; each gets {@code settings.n()} choices
 */
public record CompletionRequest(String model, List<Prompt> prompts, GenerationSettings settings) {
    public CompletionRequest {
        prompts = List.copyOf(prompts);
    }
}
