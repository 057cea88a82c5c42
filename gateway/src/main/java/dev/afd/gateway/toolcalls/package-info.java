/**
 * OpenAI tool calls on chat completions: the request's {@code tools}, {@code tool_choice} and
 * {@code parallel_tool_calls} ({@link dev.afd.gateway.toolcalls.ToolsRequest}), the model's call formats
 * ({@code --tool-call-parser}: {@link dev.afd.gateway.toolcalls.ToolCallParser}), and the per-choice splitters that
 * turn a choice's answer into {@code content} and {@code tool_calls}, whole or while it streams.
 */
package dev.afd.gateway.toolcalls;
