package dev.afd.gateway.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.gateway.http.Response;
import dev.afd.gateway.toolcalls.ToolCall;
import dev.afd.gateway.toolcalls.ToolCallDelta;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The OpenAI response bodies: errors, models, completions and chat completions (whole and as stream chunks), usage
 * and logprobs, shaped as vLLM sends them.
 *
 * <p>Thread-safe: stateless; Jackson's mapper is shared.
 */
public final class OpenAiJson {
    public static final ObjectMapper JSON = new ObjectMapper();
    /** JSON has no infinity; vLLM reports impossible tokens with this floor instead. */
    private static final float LOGPROB_FLOOR = -9999f;

    private OpenAiJson() {}

    /** Which endpoint a response belongs to. */
    public enum Kind {
        COMPLETION("text_completion", "text_completion", "cmpl-"),
        CHAT("chat.completion", "chat.completion.chunk", "chatcmpl-");

        final String object;
        final String chunkObject;
        public final String idPrefix;

        Kind(String object, String chunkObject, String idPrefix) {
            this.object = object;
            this.chunkObject = chunkObject;
            this.idPrefix = idPrefix;
        }
    }

    /** Fields every response and chunk of one request shares. */
    public record Header(Kind kind, String id, long created, String model) {}

    public static byte[] bytes(JsonNode n) {
        try {
            return JSON.writeValueAsBytes(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a response tree could not be written as JSON", e);
        }
    }

    /** {@code e} as a whole HTTP response: its status, the error body, and {@code Retry-After} when retrying helps. */
    public static Response errorResponse(ApiException e) {
        return new Response(e.status(), "application/json", bytes(error(e)), e.retryAfterSeconds() == null
                ? Map.of() : Map.of("Retry-After", e.retryAfterSeconds().toString()));
    }

    public static ObjectNode error(ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        err.put("param", e.param());
        err.put("code", e.code());
        return root;
    }

    public static ObjectNode models(String name, long created, int maxModelLen) {
        ObjectNode root = JSON.createObjectNode();
        root.put("object", "list");
        ObjectNode card = root.putArray("data").addObject();
        card.put("id", name);
        card.put("object", "model");
        card.put("created", created);
        card.put("owned_by", "afd");
        card.put("root", name);
        card.putNull("parent");
        card.put("max_model_len", maxModelLen);
        return root;
    }

    public static ObjectNode usage(long promptTokens, long completionTokens) {
        ObjectNode u = JSON.createObjectNode();
        u.put("prompt_tokens", promptTokens);
        u.put("total_tokens", promptTokens + completionTokens);
        u.put("completion_tokens", completionTokens);
        return u;
    }

    /** A whole (non-streaming) response. */
    public static ObjectNode response(Header h, List<ChoiceOutput> choices, ObjectNode usage) {
        ObjectNode root = start(h, h.kind.object);
        ArrayNode list = root.putArray("choices");
        for (ChoiceOutput c : choices) {
            ObjectNode choice = list.addObject();
            choice.put("index", c.index());
            if (h.kind == Kind.CHAT) {
                ObjectNode message = choice.putObject("message");
                message.put("role", "assistant");
                String content = c.reasoning() == null ? c.text() : c.reasoning().content();
                message.put("content", c.toolCalls() == null ? content : c.toolCalls().content());
                if (c.reasoning() != null) {
                    message.put("reasoning_content", c.reasoning().reasoning());
                }
                message.putNull("refusal");
                ArrayNode calls = message.putArray("tool_calls");
                if (c.toolCalls() != null) {
                    for (ToolCall call : c.toolCalls().calls()) {
                        ObjectNode entry = calls.addObject();
                        entry.put("id", call.id());
                        entry.put("type", "function");
                        ObjectNode function = entry.putObject("function");
                        function.put("name", call.name());
                        function.put("arguments", call.arguments());
                    }
                }
                putChatLogprobs(choice, c.logprobs());
            } else {
                choice.put("text", c.text());
                putCompletionLogprobs(choice, c.logprobs(), 0);
                if (c.promptLogprobs() != null) {
                    choice.set("prompt_logprobs", promptLogprobs(c.promptLogprobs()));
                }
            }
            choice.put("finish_reason", c.finishReason());
            putStopReason(choice, c.stopReason());
        }
        if (h.kind == Kind.CHAT && !choices.isEmpty() && choices.getFirst().promptLogprobs() != null) {
            // vLLM reports a chat prompt's log-probabilities once, beside the choices (every choice shares the prompt).
            root.set("prompt_logprobs", promptLogprobs(choices.getFirst().promptLogprobs()));
        }
        root.set("usage", usage);
        return root;
    }

    /**
     * A stream chunk for one choice.
     *
     * @param role the chat role to announce (first chunk of a chat choice), or null
     * @param reasoning chat only: the next piece of reasoning ({@code delta.reasoning_content}), or null for none
     * @param text the next piece of text, or null for none
     * @param toolCalls chat only: pieces of tool calls ({@code delta.tool_calls}), empty for none
     * @param textOffset completions only: where this piece starts in the choice's text (for {@code text_offset})
     * @param finishReason set on the choice's last chunk
     */
    public static ObjectNode chunk(Header h, int index, String role, String reasoning, String text,
            List<ToolCallDelta> toolCalls, List<TokenLogprob> logprobs, int textOffset, String finishReason,
            Object stopReason) {
        ObjectNode root = start(h, h.kind.chunkObject);
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", index);
        if (h.kind == Kind.CHAT) {
            ObjectNode delta = choice.putObject("delta");
            if (role != null) {
                delta.put("role", role);
            }
            if (reasoning != null) {
                delta.put("reasoning_content", reasoning);
            }
            if (text != null) {
                delta.put("content", text);
            }
            if (!toolCalls.isEmpty()) {
                ArrayNode calls = delta.putArray("tool_calls");
                for (ToolCallDelta d : toolCalls) {
                    ObjectNode entry = calls.addObject();
                    entry.put("index", d.index());
                    if (d.id() != null) {
                        entry.put("id", d.id());
                        entry.put("type", "function");
                    }
                    ObjectNode function = entry.putObject("function");
                    if (d.name() != null) {
                        function.put("name", d.name());
                    }
                    function.put("arguments", d.arguments());
                }
            }
            putChatLogprobs(choice, logprobs);
        } else {
            choice.put("text", text == null ? "" : text);
            putCompletionLogprobs(choice, logprobs, textOffset);
        }
        choice.put("finish_reason", finishReason);
        putStopReason(choice, stopReason);
        return root;
    }

    /** The last chunk of a stream that asked for usage: no choices. */
    public static ObjectNode usageChunk(Header h, ObjectNode usage) {
        ObjectNode root = start(h, h.kind.chunkObject);
        root.putArray("choices");
        root.set("usage", usage);
        return root;
    }

    private static ObjectNode start(Header h, String object) {
        ObjectNode root = JSON.createObjectNode();
        root.put("id", h.id);
        root.put("object", object);
        root.put("created", h.created);
        root.put("model", h.model);
        return root;
    }

    private static void putStopReason(ObjectNode choice, Object stopReason) {
        switch (stopReason) {
            case null -> choice.putNull("stop_reason");
            case Integer id -> choice.put("stop_reason", id);
            default -> choice.put("stop_reason", stopReason.toString());
        }
    }

    private static void putChatLogprobs(ObjectNode choice, List<TokenLogprob> logprobs) {
        if (logprobs == null) {
            choice.putNull("logprobs");
            return;
        }
        ObjectNode lp = choice.putObject("logprobs");
        ArrayNode content = lp.putArray("content");
        for (TokenLogprob t : logprobs) {
            ObjectNode entry = chatEntry(content.addObject(), t);
            ArrayNode top = entry.putArray("top_logprobs");
            t.top().forEach(alt -> chatEntry(top.addObject(), alt));
        }
        lp.putNull("refusal");
    }

    private static ObjectNode chatEntry(ObjectNode e, TokenLogprob t) {
        e.put("token", t.token());
        e.put("logprob", floor(t.logprob()));
        ArrayNode bytes = e.putArray("bytes");
        for (byte b : t.token().getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return e;
    }

    private static void putCompletionLogprobs(ObjectNode choice, List<TokenLogprob> logprobs, int textOffset) {
        if (logprobs == null) {
            choice.putNull("logprobs");
            return;
        }
        ObjectNode lp = choice.putObject("logprobs");
        ArrayNode tokens = lp.putArray("tokens");
        ArrayNode values = lp.putArray("token_logprobs");
        ArrayNode top = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        int offset = textOffset;
        for (TokenLogprob t : logprobs) {
            tokens.add(t.token());
            if (t.top() == null) {
                values.addNull();
                top.addNull();
            } else {
                values.add(floor(t.logprob()));
                ObjectNode alts = top.addObject();
                t.top().forEach(alt -> alts.put(alt.token(), floor(alt.logprob())));
            }
            offsets.add(offset);
            offset += t.token().length();
        }
    }

    /**
     * vLLM's {@code prompt_logprobs}: null for the first prompt token, then per token an object keyed by token id
     * holding the token itself and the most likely tokens, each with its log-probability, rank and text.
     */
    private static ArrayNode promptLogprobs(List<PromptLogprob> prompt) {
        ArrayNode list = JSON.createArrayNode();
        list.addNull();
        for (PromptLogprob p : prompt) {
            ObjectNode entry = list.addObject();
            promptEntry(entry, p);
            p.top().forEach(alt -> promptEntry(entry, alt));
        }
        return list;
    }

    private static void promptEntry(ObjectNode entry, PromptLogprob p) {
        ObjectNode e = entry.putObject(Integer.toString(p.tokenId()));
        e.put("logprob", floor(p.logprob()));
        e.put("rank", p.rank());
        e.put("decoded_token", p.token());
    }

    private static float floor(float logprob) {
        return Float.isNaN(logprob) || logprob < LOGPROB_FLOOR ? LOGPROB_FLOOR : logprob;
    }
}
