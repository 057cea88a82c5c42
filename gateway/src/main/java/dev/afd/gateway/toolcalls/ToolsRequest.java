package dev.afd.gateway.toolcalls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.JsonFields;
import dev.afd.gateway.structured.JsonSchemaGrammar;
import dev.afd.gateway.structured.ToolCallGrammar;
import dev.afd.gateway.structured.UnsupportedConstraintException;
import dev.afd.model.grammar.Grammar;
import dev.afd.model.grammar.GrammarBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}, validated: every shape error
 * is a 400 naming the field. As in OpenAI and vLLM, {@code tool_choice} defaults to {@code auto} when tools are given
 * and to {@code none} otherwise.
 *
 * @param tools the functions offered, in the request's order (names unique)
 * @param choice what the model may or must call
 * @param parallel whether one answer may hold several calls ({@code parallel_tool_calls}, default true)
 */
public record ToolsRequest(List<Tool> tools, ToolChoice choice, boolean parallel) {
    public static final ToolsRequest NONE = new ToolsRequest(List.of(), ToolChoice.NONE, true);

    public ToolsRequest {
        tools = List.copyOf(tools);
    }

    /** Reads the three fields from a chat request body. */
    public static ToolsRequest read(JsonFields f) {
        List<Tool> tools = tools(f.raw("tools"));
        ToolChoice choice = choice(f.raw("tool_choice"), tools);
        Boolean parallel = f.bool("parallel_tool_calls");
        return new ToolsRequest(tools, choice, parallel == null || parallel);
    }

    /**
     * What the output must follow: for {@code required} an array of calls, for a named function its arguments; null
     * for {@code none} and {@code auto}, which leave the output free.
     *
     * @throws ApiException 400 naming the tool's parameters when a schema cannot be honoured
     */
    public Grammar grammar() {
        return switch (choice.mode()) {
            case NONE, AUTO -> null;
            case REQUIRED -> {
                Map<String, JsonNode> parameters = new LinkedHashMap<>();
                for (int i = 0; i < tools.size(); i++) {
                    // Each schema alone first, so that a refusal names the tool it came from.
                    compile(i);
                    parameters.put(tools.get(i).name(), tools.get(i).parameters());
                }
                try {
                    yield ToolCallGrammar.required(parameters, parallel);
                } catch (GrammarBuilder.GrammarTooLargeException e) {
                    throw ApiException.badRequest("tools", "the tools' parameter schemas together are too large to"
                            + " enforce for tool_choice 'required': " + e.getMessage());
                }
            }
            case NAMED -> compile(index(choice.function()));
        };
    }

    /**
     * How this request's answers are split into content and calls, or null when they are not ({@code none}).
     *
     * @param parser the server's {@code --tool-call-parser}, or null for none
     * @throws ApiException 400 when {@code auto} is asked for and the server has no parser
     */
    public ToolCalling calling(ToolCallParser parser) {
        if (choice.mode() == ToolChoice.Mode.AUTO && parser == null) {
            throw ApiException.badRequest("tool_choice", "\"auto\" tool choice needs the server to know the model's"
                    + " tool-call format: start the gateway with --tool-call-parser (hermes or step3), or send"
                    + " 'tool_choice' \"none\", \"required\" or a named function");
        }
        return choice.mode() == ToolChoice.Mode.NONE ? null : new ToolCalling(this, parser);
    }

    private Grammar compile(int i) {
        String where = "tools[" + i + "].function.parameters";
        try {
            return JsonSchemaGrammar.compile(tools.get(i).parameters());
        } catch (UnsupportedConstraintException | GrammarBuilder.GrammarTooLargeException e) {
            throw ApiException.badRequest(where, "'" + where + "': " + e.getMessage());
        }
    }

    private int index(String name) {
        for (int i = 0; i < tools.size(); i++) {
            if (tools.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalStateException("tool_choice names '" + name + "', which was checked to be a tool");
    }

    private static List<Tool> tools(JsonNode n) {
        if (n == null) {
            return List.of();
        }
        if (!n.isArray()) {
            throw JsonFields.wrongType("tools", "a list of tools", n);
        }
        List<Tool> tools = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            String where = "tools[" + i + "]";
            JsonNode t = n.get(i);
            if (!t.isObject()) {
                throw JsonFields.wrongType(where, "an object", t);
            }
            JsonNode type = t.get("type");
            if (type != null && !"function".equals(type.asText(null))) {
                throw ApiException.badRequest(where + ".type", "'" + where + ".type' must be \"function\", the one"
                        + " kind of tool this server supports");
            }
            JsonNode function = t.get("function");
            if (function == null || !function.isObject()) {
                throw ApiException.badRequest(where + ".function", "'" + where + ".function' must be an object with"
                        + " the function's 'name' and 'parameters'");
            }
            JsonNode name = function.get("name");
            if (name == null || !name.isTextual() || name.asText().isEmpty()) {
                throw ApiException.badRequest(where + ".function.name", "'" + where + ".function.name' must be a"
                        + " non-empty string");
            }
            JsonNode parameters = function.get("parameters");
            if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
                throw JsonFields.wrongType(where + ".function.parameters", "a JSON schema object", parameters);
            }
            if (tools.stream().anyMatch(x -> x.name().equals(name.asText()))) {
                throw ApiException.badRequest(where + ".function.name", "'" + where + ".function.name' repeats the"
                        + " tool name '" + name.asText() + "'; tool names must be unique");
            }
            tools.add(new Tool(name.asText(), parameters == null || parameters.isNull() ? noParameters()
                    : parameters));
        }
        return tools;
    }

    /** A function without parameters takes an empty object. */
    private static JsonNode noParameters() {
        var schema = JsonNodeFactory.instance.objectNode();
        schema.put("type", "object");
        schema.putObject("properties");
        return schema;
    }

    private static ToolChoice choice(JsonNode n, List<Tool> tools) {
        if (n == null) {
            return tools.isEmpty() ? ToolChoice.NONE : ToolChoice.AUTO;
        }
        ToolChoice choice;
        if (n.isTextual()) {
            choice = switch (n.asText()) {
                case "none" -> ToolChoice.NONE;
                case "auto" -> ToolChoice.AUTO;
                case "required" -> ToolChoice.REQUIRED;
                default -> throw ApiException.badRequest("tool_choice", "'tool_choice' must be \"none\", \"auto\","
                        + " \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}, got \""
                        + n.asText() + "\"");
            };
        } else if (n.isObject()) {
            JsonNode name = n.path("function").path("name");
            if (!"function".equals(n.path("type").asText()) || !name.isTextual()) {
                throw ApiException.badRequest("tool_choice", "a named 'tool_choice' must be {\"type\": \"function\","
                        + " \"function\": {\"name\": ...}}");
            }
            if (tools.stream().noneMatch(t -> t.name().equals(name.asText()))) {
                throw ApiException.badRequest("tool_choice", "'tool_choice' names the function '" + name.asText()
                        + "', which is not among 'tools'");
            }
            choice = new ToolChoice(ToolChoice.Mode.NAMED, name.asText());
        } else {
            throw JsonFields.wrongType("tool_choice", "a string or an object", n);
        }
        if (choice.mode() != ToolChoice.Mode.NONE && tools.isEmpty()) {
            throw ApiException.badRequest("tool_choice", "'tool_choice' " + (n.isTextual() ? "\"" + n.asText() + "\""
                    : "naming a function") + " needs 'tools'");
        }
        return choice;
    }
}
