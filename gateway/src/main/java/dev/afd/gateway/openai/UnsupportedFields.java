package dev.afd.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.function.Predicate;

/**
 * Request fields of the OpenAI and vLLM APIs that change the answer and that this server does not implement. Set to
 * their no-op value (or null) they are accepted; set to anything else they are a 400 naming the field and what to do
 * instead, never silently ignored (an unknown field is only logged, since clients send fields servers may lack).
 */
final class UnsupportedFields {
    private record Field(String name, Predicate<JsonNode> noOp, String instead) {}

    private static final Predicate<JsonNode> FALSE = n -> n.isBoolean() && !n.booleanValue();
    private static final Predicate<JsonNode> EMPTY = n -> (n.isArray() || n.isObject()) && n.isEmpty();
    private static final Predicate<JsonNode> NONE = n -> false;

    private static final List<Field> BOTH = List.of(
            new Field("use_beam_search", FALSE, "beam search is not implemented; sample n choices instead"),
            new Field("length_penalty", n -> n.isNumber() && n.doubleValue() == 1.0,
                    "it applies to beam search, which is not implemented"),
            new Field("bad_words", EMPTY, "give their token ids a logit_bias of -100 instead"),
            new Field("logits_processors", EMPTY, "this server loads no custom logits processors"),
            new Field("return_tokens_as_token_ids", FALSE, "tokens are reported as their text"),
            new Field("spaces_between_special_tokens", n -> n.isBoolean() && n.booleanValue(),
                    "special tokens are always joined with spaces between them, as by default"),
            new Field("prediction", NONE, "predicted outputs are not implemented"),
            new Field("audio", NONE, "this model produces text only"),
            new Field("modalities", n -> n.isArray() && n.size() == 1 && "text".equals(n.get(0).asText()),
                    "this model produces text only"));
    private static final List<Field> CHAT = List.of(
            new Field("echo", FALSE, "the chat route does not echo the last message; use /v1/completions with echo"),
            new Field("continue_final_message", FALSE, "end the conversation with a user message instead"),
            new Field("chat_template", NONE, "the model's own chat template is always used"),
            new Field("documents", NONE, "put the documents in the messages instead"),
            new Field("functions", NONE, "use 'tools' instead of the deprecated 'functions'"),
            new Field("function_call", NONE, "use 'tool_choice' instead of the deprecated 'function_call'"));

    private UnsupportedFields() {}

    /** Checks the fields both generation routes share, and {@code best_of}, which must equal {@code n}. */
    static void checkCommon(JsonFields f, int n) {
        check(f, BOTH);
        JsonNode bestOf = f.raw("best_of");
        if (bestOf != null && !bestOf.isNull() && !(bestOf.isIntegralNumber() && bestOf.intValue() == n)) {
            throw ApiException.badRequest("best_of", "'best_of' other than 'n' is not supported by this server: it"
                    + " returns every choice it samples; drop 'best_of' or set it to n (" + n + ")");
        }
    }

    /** Checks the fields only the chat route has. */
    static void checkChat(JsonFields f) {
        check(f, CHAT);
    }

    private static void check(JsonFields f, List<Field> fields) {
        for (Field field : fields) {
            JsonNode v = f.raw(field.name());
            if (v != null && !v.isNull() && !field.noOp().test(v)) {
                throw ApiException.badRequest(field.name(), "'" + field.name() + "' is not supported by this server: "
                        + field.instead());
            }
        }
    }
}
