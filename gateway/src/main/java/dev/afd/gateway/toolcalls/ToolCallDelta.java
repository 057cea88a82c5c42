package dev.afd.gateway.toolcalls;

/**
 * A streamed piece of a call ({@code delta.tool_calls[]}): the first piece of call {@code index} carries its id and
 * name, later ones only more {@code arguments}, which the client appends.
 *
 * @param index the call's position among the choice's calls
 * @param id the call's id on its first piece, else null
 * @param name the function's name on its first piece, else null
 * @param arguments the next part of the arguments' JSON text (may be empty)
 */
public record ToolCallDelta(int index, String id, String name, String arguments) {}
