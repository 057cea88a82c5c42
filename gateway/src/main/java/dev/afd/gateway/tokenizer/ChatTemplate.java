package dev.afd.gateway.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.afd.gateway.openai.ApiException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A model's chat template (Jinja, from {@code tokenizer_config.json}) rendered the way Hugging Face's
 * {@code apply_chat_template} does: {@code trim_blocks} and {@code lstrip_blocks} on, the variables {@code messages},
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} (and {@code tools} when given), and the
 * {@code raise_exception} function templates use to reject a conversation.
 *
 * <p>Thread-safe: Jinjava renders each call in its own interpreter.
 */
public final class ChatTemplate {
    /** Longest rendered prompt; a template that loops past it is cut off with an error, not memory exhaustion. */
    private static final long MAX_OUTPUT_CHARS = 64L << 20;

    private final Jinjava jinjava;
    private final String template;
    private final String bosToken;
    private final String eosToken;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
    }

    /**
     * Renders a conversation.
     *
     * @throws ApiException 400 when the template rejects the conversation or cannot render it
     */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt,
            Map<String, Object> variables) {
        Map<String, Object> context = new HashMap<>(variables);
        context.put("messages", messages);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result = jinjava.renderForResult(template, context);
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL).toList();
        if (!fatal.isEmpty()) {
            throw ApiException.badRequest("messages", "the model's chat template could not render this"
                    + " conversation: " + fatal.stream().map(ChatTemplate::describe).collect(Collectors.joining("; ")));
        }
        return result.getOutput();
    }

    private static String describe(TemplateError e) {
        Throwable cause = e.getException();
        while (cause != null && cause.getCause() != null && cause.getCause() != cause) {
            if (cause instanceof TemplateRejection) {
                break;
            }
            cause = cause.getCause();
        }
        if (cause instanceof TemplateRejection r) {
            return r.getMessage();
        }
        return e.getMessage();
    }

    /** {@code raise_exception(message)} inside a template: the conversation does not fit the template's rules. */
    public static Object raiseException(String message) {
        throw new TemplateRejection(message);
    }

    /** What {@code raise_exception} throws; its message is the template's own explanation. */
    static final class TemplateRejection extends RuntimeException {
        TemplateRejection(String message) {
            super(message);
        }
    }
}
