package dev.afd.gateway.openai;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.gateway.structured.StructuredOutput;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.gateway.toolcalls.ToolsRequest;
import dev.afd.model.grammar.Grammar;
import dev.afd.model.sampling.LogitControls;
import dev.afd.model.sampling.SamplingParams;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads and validates the OpenAI request bodies: wrong types and out-of-range values are 400s naming the field, with
 * the limits vLLM applies. Fields this server does not know are ignored and logged once per name (OpenAI clients
 * send fields a server may not implement); fields it knows but cannot honour ({@code suffix}, output constraints that
 * {@link StructuredOutput} cannot compile, {@code prompt_logprobs} with {@code stream}) are 400s, since ignoring them
 * would change the answer.
 *
 * <p>Thread-safe: holds only the immutable defaults and the shared set of names already logged.
 */
public final class RequestParser {
    private static final System.Logger LOG = System.getLogger(RequestParser.class.getName());
    /** Trailing data after the JSON value is an error, as in vLLM: {@code {...} xyz} is not a JSON body. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};
    /** Most choices per prompt; each choice is a request on an attention node. */
    public static final int MAX_N = 128;
    /** OpenAI's (and vLLM's) default max_tokens for completions; chat fills the remaining context instead. */
    public static final int DEFAULT_COMPLETION_MAX_TOKENS = 16;
    /** Known and harmless: read so they are not reported as unknown. */
    private static final List<String> IGNORED = List.of("user", "metadata", "store", "service_tier");

    private final Set<String> loggedUnknown = ConcurrentHashMap.newKeySet();
    private final SamplingDefaults defaults;

    public RequestParser(SamplingDefaults defaults) {
        this.defaults = defaults;
    }

    /**
     * Parses a request body.
     *
     * @throws ApiException 400 when it is not JSON or not a JSON object
     */
    public static ObjectNode body(byte[] bytes) {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (MismatchedInputException e) {
            throw ApiException.badRequest(null, "the request body has data after its JSON value; send exactly one"
                    + " JSON object");
        } catch (JacksonException e) {
            throw ApiException.badRequest(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest(null, "the request body could not be read: " + e.getMessage());
        }
        if (root == null || root.isMissingNode()) {
            throw ApiException.badRequest(null, "the request body is empty; send a JSON object");
        }
        if (!root.isObject()) {
            throw ApiException.badRequest(null, "the request body must be a JSON object, got " + root.getNodeType()
                    .name().toLowerCase(java.util.Locale.ROOT));
        }
        return (ObjectNode) root;
    }

    public CompletionRequest completion(ObjectNode body) {
        JsonFields f = new JsonFields(body);
        String model = f.string("model");
        JsonNode promptNode = f.raw("prompt");
        if (promptNode == null) {
            throw ApiException.badRequest("prompt", "'prompt' is required");
        }
        List<Prompt> prompts = prompts(promptNode);
        String suffix = f.string("suffix");
        if (suffix != null && !suffix.isEmpty()) {
            throw ApiException.badRequest("suffix", "'suffix' is not supported by this server");
        }
        Integer logprobs = f.int32("logprobs");
        if (logprobs != null && (logprobs < 0 || logprobs > SamplingParams.MAX_TOP_LOGPROBS)) {
            throw ApiException.badRequest("logprobs", "'logprobs' must be between 0 and "
                    + SamplingParams.MAX_TOP_LOGPROBS + ", got " + logprobs);
        }
        boolean echo = Boolean.TRUE.equals(f.bool("echo"));
        Integer maxTokens = positive(f, "max_tokens");
        GenerationSettings s = settings(f, maxTokens == null ? DEFAULT_COMPLETION_MAX_TOKENS : maxTokens,
                logprobs != null, logprobs == null ? 0 : logprobs, echo);
        if (echo && logprobs != null && !s.wantsPromptLogprobs()) {
            // As in vLLM: echoing with logprobs reports the prompt's tokens with as many alternatives.
            s = s.withPromptLogprobs(logprobs);
        }
        reportUnread(f, "/v1/completions");
        return new CompletionRequest(model, prompts, s);
    }

    public ChatRequest chat(ObjectNode body) {
        JsonFields f = new JsonFields(body);
        String model = f.string("model");
        List<Map<String, Object>> messages = messages(f.raw("messages"));
        Boolean addGenerationPrompt = f.bool("add_generation_prompt");
        Map<String, Object> variables = new HashMap<>();
        JsonNode tools = f.raw("tools");
        if (tools != null) {
            if (!tools.isArray()) {
                throw JsonFields.wrongType("tools", "an array", tools);
            }
            variables.put("tools", JSON.convertValue(tools, List.class));
        }
        JsonNode kwargs = f.raw("chat_template_kwargs");
        if (kwargs != null) {
            if (!kwargs.isObject()) {
                throw JsonFields.wrongType("chat_template_kwargs", "an object", kwargs);
            }
            variables.putAll(JSON.convertValue(kwargs, MAP));
        }
        Integer maxCompletion = positive(f, "max_completion_tokens");
        Integer maxTokens = positive(f, "max_tokens");
        boolean logprobs = Boolean.TRUE.equals(f.bool("logprobs"));
        Integer top = f.int32("top_logprobs");
        if (top != null && (top < 0 || top > SamplingParams.MAX_TOP_LOGPROBS)) {
            throw ApiException.badRequest("top_logprobs", "'top_logprobs' must be between 0 and "
                    + SamplingParams.MAX_TOP_LOGPROBS + ", got " + top);
        }
        if (top != null && top > 0 && !logprobs) {
            throw ApiException.badRequest("top_logprobs", "'top_logprobs' needs 'logprobs' set to true");
        }
        GenerationSettings s = settings(f, maxCompletion != null ? maxCompletion : maxTokens, logprobs,
                top == null ? 0 : top, false);
        UnsupportedFields.checkChat(f);
        ToolsRequest toolsRequest = ToolsRequest.read(f);
        Grammar toolGrammar = toolsRequest.grammar();
        if (toolGrammar != null) {
            if (s.grammar() != null) {
                throw ApiException.badRequest("tool_choice", "'tool_choice' \"required\" or naming a function"
                        + " constrains the output to tool calls, which cannot be combined with another output"
                        + " constraint (response_format, structured_outputs); drop one of them");
            }
            if (s.ignoreEos()) {
                throw ApiException.badRequest("ignore_eos", "'ignore_eos' cannot be combined with 'tool_choice'"
                        + " \"required\" or naming a function: the output must end where its calls do");
            }
            s = s.withGrammar(toolGrammar);
        }
        reportUnread(f, "/v1/chat/completions");
        return new ChatRequest(model, messages, addGenerationPrompt == null || addGenerationPrompt, variables, s,
                toolsRequest);
    }

    public TokenizeRequest tokenize(ObjectNode body) {
        JsonFields f = new JsonFields(body);
        String model = f.string("model");
        String prompt = f.string("prompt");
        JsonNode messagesNode = f.raw("messages");
        if ((prompt == null) == (messagesNode == null)) {
            throw ApiException.badRequest(prompt == null ? "prompt" : "messages",
                    "give exactly one of 'prompt' (text) and 'messages' (a chat)");
        }
        List<Map<String, Object>> messages = messagesNode == null ? null : messages(messagesNode);
        Boolean addSpecial = f.bool("add_special_tokens");
        Boolean addGenerationPrompt = f.bool("add_generation_prompt");
        boolean returnStrs = Boolean.TRUE.equals(f.bool("return_token_strs"));
        reportUnread(f, "/tokenize");
        return new TokenizeRequest(model, prompt, messages, addSpecial != null ? addSpecial : prompt != null,
                addGenerationPrompt == null || addGenerationPrompt, returnStrs);
    }

    public DetokenizeRequest detokenize(ObjectNode body) {
        JsonFields f = new JsonFields(body);
        String model = f.string("model");
        JsonNode tokens = f.raw("tokens");
        if (tokens == null) {
            throw ApiException.badRequest("tokens", "'tokens' is required");
        }
        int[] ids = tokenIds("tokens", tokens);
        reportUnread(f, "/detokenize");
        return new DetokenizeRequest(model, ids);
    }

    private GenerationSettings settings(JsonFields f, Integer maxTokens, boolean logprobs, int topLogprobs,
            boolean echo) {
        Integer n = f.int32("n");
        if (n != null && (n < 1 || n > MAX_N)) {
            throw ApiException.badRequest("n", "'n' must be between 1 and " + MAX_N + ", got " + n);
        }
        Long seed = f.int64("seed");
        Double temperature = f.number("temperature");
        Double topP = f.number("top_p");
        Integer topK = f.int32("top_k");
        Double minP = f.number("min_p");
        Double presence = f.number("presence_penalty");
        Double frequency = f.number("frequency_penalty");
        Double repetition = f.number("repetition_penalty");
        SamplingParams sampling;
        try {
            sampling = new SamplingParams(or(temperature, defaults.temperature()), topK != null ? topK
                    : defaults.topK(), or(topP, defaults.topP()), or(minP, defaults.minP()), seed, or(presence, 0.0),
                    or(frequency, 0.0), or(repetition, defaults.repetitionPenalty()), topLogprobs);
        } catch (SamplingParams.InvalidSamplingException e) {
            throw ApiException.badRequest(e.parameter(), e.getMessage());
        }
        List<String> stop = stop(f.raw("stop"));
        JsonNode stopIdsNode = f.raw("stop_token_ids");
        List<Integer> stopIds = new ArrayList<>();
        if (stopIdsNode != null) {
            for (int id : tokenIds("stop_token_ids", stopIdsNode)) {
                stopIds.add(id);
            }
        }
        boolean stream = Boolean.TRUE.equals(f.bool("stream"));
        boolean includeUsage = false;
        JsonNode options = f.raw("stream_options");
        if (options != null) {
            if (!options.isObject()) {
                throw JsonFields.wrongType("stream_options", "an object", options);
            }
            if (!stream) {
                throw ApiException.badRequest("stream_options", "'stream_options' is only allowed with 'stream': true");
            }
            JsonNode usage = options.get("include_usage");
            if (usage != null && !usage.isNull() && !usage.isBoolean()) {
                throw JsonFields.wrongType("stream_options.include_usage", "a boolean", usage);
            }
            // As in vLLM: asking for stream options at all means usage, unless turned off.
            includeUsage = usage == null || usage.isNull() || usage.booleanValue();
        }
        boolean ignoreEos = Boolean.TRUE.equals(f.bool("ignore_eos"));
        Integer minTokens = f.int32("min_tokens");
        if (minTokens != null && minTokens < 0) {
            throw ApiException.badRequest("min_tokens", "'min_tokens' must be >= 0, got " + minTokens);
        }
        if (minTokens != null && maxTokens != null && minTokens > maxTokens) {
            throw ApiException.badRequest("min_tokens", "'min_tokens' (" + minTokens + ") must not exceed"
                    + " 'max_tokens' (" + maxTokens + ")");
        }
        LogitControls controls = logitControls(f);
        Integer promptLogprobs = f.int32("prompt_logprobs");
        if (promptLogprobs != null) {
            if (promptLogprobs < 0 || promptLogprobs > SamplingParams.MAX_TOP_LOGPROBS) {
                throw ApiException.badRequest("prompt_logprobs", "'prompt_logprobs' must be between 0 and "
                        + SamplingParams.MAX_TOP_LOGPROBS + ", got " + promptLogprobs);
            }
            if (stream) {
                throw ApiException.badRequest("prompt_logprobs", "'prompt_logprobs' is not available when 'stream'"
                        + " is true (as in vLLM); ask without streaming");
            }
        }
        Integer truncate = f.int32("truncate_prompt_tokens");
        if (truncate != null && truncate < 1 && truncate != -1) {
            throw ApiException.badRequest("truncate_prompt_tokens", "'truncate_prompt_tokens' must be at least 1"
                    + " (or -1 for the model's context length), got " + truncate);
        }
        Grammar grammar = StructuredOutput.read(f);
        if (grammar != null && ignoreEos) {
            throw ApiException.badRequest("ignore_eos", "'ignore_eos' cannot be combined with structured output:"
                    + " the output must end where its grammar does; drop one of them");
        }
        IGNORED.forEach(f::raw);
        UnsupportedFields.checkCommon(f, n == null ? 1 : n);
        boolean includeStop = Boolean.TRUE.equals(f.bool("include_stop_str_in_output"));
        Boolean skipSpecial = f.bool("skip_special_tokens");
        return new GenerationSettings(maxTokens, sampling, n == null ? 1 : n, stop, stopIds, logprobs, echo, stream,
                includeUsage, ignoreEos, minTokens == null ? 0 : minTokens, includeStop,
                skipSpecial == null || skipSpecial, grammar, controls,
                promptLogprobs == null ? GenerationRequest.NO_PROMPT_LOGPROBS : promptLogprobs, truncate);
    }

    /** {@code logit_bias} (token id as a string to a number) and {@code allowed_token_ids}. */
    private static LogitControls logitControls(JsonFields f) {
        Map<Integer, Float> bias = new HashMap<>();
        JsonNode biasNode = f.raw("logit_bias");
        if (biasNode != null) {
            if (!biasNode.isObject()) {
                throw JsonFields.wrongType("logit_bias", "an object of token id to bias", biasNode);
            }
            for (Map.Entry<String, JsonNode> e : biasNode.properties()) {
                int id;
                try {
                    id = Integer.parseInt(e.getKey().trim());
                } catch (NumberFormatException x) {
                    throw ApiException.badRequest("logit_bias", "'logit_bias' keys must be token ids, got '"
                            + e.getKey() + "'");
                }
                if (!e.getValue().isNumber()) {
                    throw JsonFields.wrongType("logit_bias." + e.getKey(), "a number", e.getValue());
                }
                bias.put(id, e.getValue().floatValue());
            }
        }
        JsonNode allowedNode = f.raw("allowed_token_ids");
        int[] allowed = allowedNode == null ? null : tokenIds("allowed_token_ids", allowedNode);
        try {
            return bias.isEmpty() && allowed == null ? LogitControls.NONE : new LogitControls(bias, allowed);
        } catch (SamplingParams.InvalidSamplingException e) {
            throw ApiException.badRequest(e.parameter(), e.getMessage());
        }
    }

    private static Integer positive(JsonFields f, String name) {
        Integer v = f.int32(name);
        if (v != null && v < 1) {
            throw ApiException.badRequest(name, "'" + name + "' must be at least 1, got " + v);
        }
        return v;
    }

    private static double or(Double v, double fallback) {
        return v != null ? v : fallback;
    }

    private static List<String> stop(JsonNode n) {
        if (n == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.isTextual()) {
                    throw JsonFields.wrongType("stop", "a string or a list of strings", n);
                }
                out.add(e.asText());
            }
        } else {
            throw JsonFields.wrongType("stop", "a string or a list of strings", n);
        }
        if (out.stream().anyMatch(String::isEmpty)) {
            throw ApiException.badRequest("stop", "'stop' strings must not be empty");
        }
        return out;
    }

    private static List<Prompt> prompts(JsonNode n) {
        String shape = "'prompt' must be a string, a list of strings, a list of token ids or a list of lists of"
                + " token ids";
        if (n.isTextual()) {
            return List.of(new Prompt.Text(n.asText()));
        }
        if (!n.isArray()) {
            throw JsonFields.wrongType("prompt", "a string or a list", n);
        }
        if (n.isEmpty()) {
            throw ApiException.badRequest("prompt", "'prompt' must not be an empty list");
        }
        JsonNode first = n.get(0);
        List<Prompt> out = new ArrayList<>();
        if (first.isNumber()) {
            return List.of(new Prompt.Tokens(tokenIds("prompt", n)));
        }
        for (JsonNode e : n) {
            if (first.isTextual() && e.isTextual()) {
                out.add(new Prompt.Text(e.asText()));
            } else if (first.isArray() && e.isArray()) {
                if (e.isEmpty()) {
                    throw ApiException.badRequest("prompt", "a token-id prompt must not be empty");
                }
                out.add(new Prompt.Tokens(tokenIds("prompt", e)));
            } else {
                throw ApiException.badRequest("prompt", shape);
            }
        }
        return out;
    }

    /** A list of non-negative token ids; whether they are in the vocabulary is checked against the tokenizer. */
    private static int[] tokenIds(String name, JsonNode n) {
        if (!n.isArray()) {
            throw JsonFields.wrongType(name, "a list of token ids", n);
        }
        int[] ids = new int[n.size()];
        for (int i = 0; i < ids.length; i++) {
            long id = JsonFields.integer(name, n.get(i));
            if (id < 0 || id > Integer.MAX_VALUE) {
                throw ApiException.badRequest(name, "'" + name + "' holds token id " + id
                        + ", which is not a valid token id");
            }
            ids[i] = (int) id;
        }
        return ids;
    }

    private static List<Map<String, Object>> messages(JsonNode n) {
        if (n == null) {
            throw ApiException.badRequest("messages", "'messages' is required");
        }
        if (!n.isArray()) {
            throw JsonFields.wrongType("messages", "a list of messages", n);
        }
        if (n.isEmpty()) {
            throw ApiException.badRequest("messages", "'messages' must not be empty");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode m = n.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw JsonFields.wrongType(where, "an object", m);
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.badRequest(where + ".role", "'" + where + ".role' must be a string");
            }
            Map<String, Object> message = new LinkedHashMap<>(JSON.convertValue(m, MAP));
            message.put("content", content(where + ".content", m.get("content")));
            JsonNode calls = m.get("tool_calls");
            if (calls != null && !calls.isNull()) {
                if (!"assistant".equals(role.asText())) {
                    throw ApiException.badRequest(where + ".tool_calls", "'" + where + ".tool_calls' is only allowed"
                            + " on assistant messages");
                }
                message.put("tool_calls", toolCalls(where + ".tool_calls", calls));
            }
            if ("tool".equals(role.asText()) && !m.path("tool_call_id").isTextual()) {
                throw ApiException.badRequest(where + ".tool_call_id", "'" + where + ".tool_call_id' must be a"
                        + " string: the id of the call this message answers");
            }
            out.add(message);
        }
        return out;
    }

    /**
     * An assistant message's calls for the chat template: each call's {@code arguments} JSON text parsed into its
     * value, as vLLM does, since templates write them with {@code tojson}.
     */
    private static List<Map<String, Object>> toolCalls(String where, JsonNode calls) {
        if (!calls.isArray()) {
            throw JsonFields.wrongType(where, "a list of tool calls", calls);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int j = 0; j < calls.size(); j++) {
            String at = where + "[" + j + "]";
            JsonNode call = calls.get(j);
            JsonNode function = call.path("function");
            if (!call.isObject() || !function.isObject() || !function.path("name").isTextual()) {
                throw ApiException.badRequest(at, "'" + at + "' must be {\"id\": ..., \"type\": \"function\","
                        + " \"function\": {\"name\": ..., \"arguments\": ...}}");
            }
            JsonNode arguments = function.get("arguments");
            if (arguments == null || !arguments.isTextual()) {
                throw JsonFields.wrongType(at + ".function.arguments", "a string of JSON", arguments == null
                        ? JSON.getNodeFactory().nullNode() : arguments);
            }
            Object parsed;
            try {
                parsed = JSON.readValue(arguments.asText(), Object.class);
            } catch (JacksonException e) {
                throw ApiException.badRequest(at + ".function.arguments", "'" + at + ".function.arguments' is not"
                        + " valid JSON: " + e.getOriginalMessage());
            }
            Map<String, Object> c = new LinkedHashMap<>(JSON.convertValue(call, MAP));
            Map<String, Object> f = new LinkedHashMap<>(JSON.convertValue(function, MAP));
            f.put("arguments", parsed);
            c.put("function", f);
            out.add(c);
        }
        return out;
    }

    /** Text content, or text parts joined by newlines (as vLLM does for text-only templates); null stays null. */
    private static String content(String where, JsonNode c) {
        if (c == null || c.isNull()) {
            return null;
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (!c.isArray()) {
            throw JsonFields.wrongType(where, "a string or a list of content parts", c);
        }
        List<String> texts = new ArrayList<>();
        for (JsonNode part : c) {
            String type = part.path("type").asText("");
            if (!"text".equals(type) || !part.path("text").isTextual()) {
                throw ApiException.badRequest(where, "content part type '" + type + "' is not supported by this"
                        + " model; only {\"type\": \"text\", \"text\": ...} parts");
            }
            texts.add(part.get("text").asText());
        }
        return String.join("\n", texts);
    }

    private void reportUnread(JsonFields f, String route) {
        for (String name : f.unread()) {
            if (loggedUnknown.add(route + " " + name)) {
                LOG.log(Level.INFO, "ignoring request field '" + name + "' on " + route
                        + ", which this server does not implement (logged once)");
            }
        }
    }
}
