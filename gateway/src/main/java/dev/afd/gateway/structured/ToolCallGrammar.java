package dev.afd.gateway.structured;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.afd.model.grammar.Grammar;
import dev.afd.model.grammar.GrammarBuilder;
import dev.afd.model.grammar.GrammarBuilder.Fragment;
import dev.afd.model.grammar.GrammarBuilder.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The grammar of {@code tool_choice: "required"}, as vLLM builds it: a JSON array of at least one (at most one without
 * parallel calls) {@code {"name": NAME, "parameters": ARGS}}, where NAME is one of the tools' and ARGS follows that
 * tool's parameter schema. Each tool's schema is compiled against itself, so its {@code $ref}s keep their meaning.
 *
 * <p>Stateless.
 */
public final class ToolCallGrammar {
    private ToolCallGrammar() {}

    /**
     * @param parameters each tool's name and parameter schema, in the request's order
     * @param parallel whether several calls may be made
     * @throws UnsupportedConstraintException when a schema cannot be honoured
     */
    public static Grammar required(Map<String, JsonNode> parameters, boolean parallel) {
        GrammarBuilder b = new GrammarBuilder();
        Rule call = b.rule();
        List<Fragment> choices = new ArrayList<>();
        for (Map.Entry<String, JsonNode> tool : parameters.entrySet()) {
            String name = JsonNodeFactory.instance.textNode(tool.getKey()).toString();
            choices.add(b.seq(b.literal("{\"name\": " + name + ", \"parameters\": "),
                    JsonSchemaGrammar.fragment(b, tool.getValue()), b.literal("}")));
        }
        b.define(call, b.alt(choices));
        Fragment calls = parallel ? b.seq(b.call(call), b.repeat(() -> b.seq(b.literal(", "), b.call(call)), 0, -1))
                : b.call(call);
        return b.build(b.seq(b.literal("["), calls, b.literal("]")));
    }
}
