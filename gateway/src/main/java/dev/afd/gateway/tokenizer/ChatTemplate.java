package dev.afd.gateway.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.loader.ResourceLocator;
import com.hubspot.jinjava.tree.Node;
import dev.afd.gateway.openai.ApiException;
import java.io.IOException;
import java.nio.charset.Charset;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A model's chat template (Jinja, from {@code tokenizer_config.json}) rendered the way Hugging Face's
 * {@code apply_chat_template} does: {@code trim_blocks} and {@code lstrip_blocks} on, the variables {@code messages},
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} (and {@code tools} when given), the
 * {@code raise_exception} function templates use to reject a conversation, and {@code tojson} as Python's
 * {@code json.dumps} writes it ({@link PythonJson}).
 *
 * <p>Security: everything a request carries (messages, roles, tool definitions, template variables) is data. The
 * template engine's nested interpretation is off, so template syntax inside a value is printed as it is, never run;
 * the template itself is sandboxed: no {@code include}, {@code import}, {@code from} or {@code extends} (nothing is
 * read from the file system or the class path), output and strings are capped, and a render that runs past its time
 * budget is stopped (Hugging Face renders in a sandboxed Jinja environment too).
 *
 * <p>Thread-safe: Jinjava renders each call in its own interpreter; the deadline is per thread.
 */
public final class ChatTemplate {
    /** Longest rendered prompt; a template that loops past it is cut off with an error, not memory exhaustion. */
    static final long MAX_OUTPUT_CHARS = 16L << 20;
    /** Longest render of one conversation. */
    public static final Duration DEFAULT_RENDER_TIMEOUT = Duration.ofSeconds(5);
    /** Tags that read other templates from a resource location. */
    private static final Set<String> LOADING_TAGS = Set.of("include", "import", "from", "extends");
    /** The render on this thread: when it must stop ({@link System#nanoTime()}, 0 for none) and its budget in ms. */
    private static final ThreadLocal<long[]> DEADLINE = ThreadLocal.withInitial(() -> new long[2]);

    private final Jinjava jinjava;
    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Duration renderTimeout;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, DEFAULT_RENDER_TIMEOUT);
    }

    public ChatTemplate(String template, String bosToken, String eosToken, Duration renderTimeout) {
        this.template = template;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.renderTimeout = renderTimeout;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .withNestedInterpretationEnabled(false)
                .withDisabled(Map.of(Context.Library.TAG, LOADING_TAGS))
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withMaxStringLength(MAX_OUTPUT_CHARS)
                .withNodePreProcessor(ChatTemplate::checkDeadline)
                .build());
        jinjava.setResourceLocator(new NoResources());
        jinjava.getGlobalContext().registerFilter(new PythonJson());
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
        long[] deadline = DEADLINE.get();
        deadline[0] = System.nanoTime() + renderTimeout.toNanos();
        deadline[1] = renderTimeout.toMillis();
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, context);
        } catch (RenderTimeout e) {
            throw ApiException.badRequest("messages", e.getMessage());
        } finally {
            deadline[0] = 0;
        }
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL).toList();
        if (!fatal.isEmpty()) {
            throw ApiException.badRequest("messages", "the model's chat template could not render this"
                    + " conversation: " + fatal.stream().map(ChatTemplate::describe).collect(Collectors.joining("; ")));
        }
        return result.getOutput();
    }

    /** Stops a render whose thread's deadline has passed; called before each template node renders. */
    private static void checkDeadline(Node node, JinjavaInterpreter interpreter) {
        long[] deadline = DEADLINE.get();
        if (deadline[0] != 0 && System.nanoTime() - deadline[0] > 0) {
            throw new RenderTimeout("the model's chat template took longer than " + deadline[1] + " ms to render"
                    + " this conversation (stopped at template line " + node.getLineNumber() + "); send a shorter"
                    + " conversation");
        }
    }

    private static String describe(TemplateError e) {
        Throwable cause = e.getException();
        while (cause != null && cause.getCause() != null && cause.getCause() != cause) {
            if (cause instanceof TemplateRejection || cause instanceof RenderTimeout) {
                break;
            }
            cause = cause.getCause();
        }
        if (cause instanceof TemplateRejection || cause instanceof RenderTimeout) {
            return cause.getMessage();
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

    /** A render stopped at its deadline. */
    static final class RenderTimeout extends RuntimeException {
        RenderTimeout(String message) {
            super(message);
        }
    }

    /** Templates load nothing: every resource lookup fails, naming why. */
    private static final class NoResources implements ResourceLocator {
        @Override
        public String getString(String name, Charset encoding, JinjavaInterpreter interpreter) throws IOException {
            throw new IOException("chat templates cannot load other files ('" + name + "')");
        }
    }
}
