package dev.afd.gateway.openai;

import dev.afd.gateway.toolcalls.ToolsRequest;
import java.util.List;
import java.util.Map;

/**
 * A {@code POST /v1/chat/completions} request.
 *
 * @param model the model asked for, or null for the one served
 * @param messages the conversation as plain maps for the chat template ({@code role}, {@code content} as text, and
 *     whatever else the client sent, such as {@code name} or {@code tool_calls})
 * @param addGenerationPrompt end the rendered prompt with the assistant's turn opening (default true)
 * @param templateVariables further variables for the chat template ({@code tools}, {@code chat_template_kwargs})
 * @param tools the functions offered and what the model may or must call
 */
public record ChatRequest(String model, List<Map<String, Object>> messages, boolean addGenerationPrompt,
        Map<String, Object> templateVariables, GenerationSettings settings, ToolsRequest tools) {
    public ChatRequest {
        messages = List.copyOf(messages);
        templateVariables = Map.copyOf(templateVariables);
    }
}
