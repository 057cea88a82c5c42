package dev.afd.gateway.openai;

import dev.afd.gateway.reasoning.ReasoningSplit;
import dev.afd.gateway.toolcalls.ToolCallResult;
import java.util.List;

/**
 * One finished choice of a non-streaming response.
 *
 * @param index the choice's position in {@code choices}
 * @param text the generated text (after the prompt when echoed), stop string excluded
 * @param reasoning chat with a reasoning parser: {@code text} split into reasoning and answer; else null
 * @param toolCalls chat with tool calls: the answer split into content and calls; else null
 * @param logprobs one entry per generated token (after one per prompt token when echoed), or null when not asked
 *     for
 * @param finishReason {@code stop}, {@code length}, {@code tool_calls} or {@code abort}
 * @param stopReason the stop string or stop token id that ended the choice, or null
 * @param promptLogprobs prompt tokens 1..n-1 ({@code prompt_logprobs}), or null when not asked for
 */
public record ChoiceOutput(int index, String text, ReasoningSplit reasoning, ToolCallResult toolCalls,
        List<TokenLogprob> logprobs, String finishReason, Object stopReason, List<PromptLogprob> promptLogprobs) {}
