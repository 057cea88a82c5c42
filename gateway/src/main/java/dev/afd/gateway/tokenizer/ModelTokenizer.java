package dev.afd.gateway.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model's tokenizer: Hugging Face's {@code tokenizers} library (through DJL) over the folder's
 * {@code tokenizer.json}, with what {@code tokenizer_config.json} adds: the bos/eos tokens, {@code add_bos_token},
 * {@code clean_up_tokenization_spaces} and the chat template (or {@code chat_template.jinja}).
 *
 * <p>Thread-safe: the native tokenizer is immutable after loading, and encode/decode keep no state between calls.
 * Close it once, after every user is done.
 */
public final class ModelTokenizer implements AutoCloseable {
    public static final String TOKENIZER = "tokenizer.json";
    public static final String CONFIG = "tokenizer_config.json";
    public static final String TEMPLATE_FILE = "chat_template.jinja";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final Integer bosId;
    private final boolean addBos;
    private final ChatTemplate chatTemplate;
    private final int maxTokenBytes;

    private ModelTokenizer(HuggingFaceTokenizer tokenizer, Integer bosId, boolean addBos, ChatTemplate chatTemplate,
            int maxTokenBytes) {
        this.tokenizer = tokenizer;
        this.bosId = bosId;
        this.addBos = addBos;
        this.chatTemplate = chatTemplate;
        this.maxTokenBytes = maxTokenBytes;
    }

    /**
     * Loads {@code dir/tokenizer.json} and, when present, {@code dir/tokenizer_config.json}.
     *
     * @throws IOException when a file cannot be read or parsed, naming it
     */
    public static ModelTokenizer open(Path dir) throws IOException {
        Path file = dir.resolve(TOKENIZER);
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + " has no " + TOKENIZER + "; the gateway needs the model's Hugging Face"
                    + " tokenizer (point --tokenizer at a folder that has one)");
        }
        Path configFile = dir.resolve(CONFIG);
        JsonNode config = Files.isRegularFile(configFile) ? readJson(configFile) : JSON.createObjectNode();
        boolean cleanUp = config.path("clean_up_tokenization_spaces").asBoolean(false);
        // Truncation off: DJL would otherwise cut every input at 512 tokens.
        HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(file, Map.of("truncation", "false", "padding",
                "false", "addSpecialTokens", "true", "cleanUpTokenization", Boolean.toString(cleanUp)));
        try {
            String bos = tokenText(config.get("bos_token"));
            String eos = tokenText(config.get("eos_token"));
            Integer bosId = bos == null ? null : singleId(hf, bos);
            boolean addBos = config.path("add_bos_token").asBoolean(false) && bosId != null;
            String template = template(config, dir);
            return new ModelTokenizer(hf, bosId, addBos, template == null ? null : new ChatTemplate(template, bos,
                    eos), maxTokenBytes(readJson(file)));
        } catch (IOException | RuntimeException e) {
            hf.close();
            throw e;
        }
    }

    /**
     * Token ids of {@code text}. With {@code addSpecialTokens} the tokenizer's post-processor runs, and the bos token
     * is put first when {@code tokenizer_config.json} says {@code add_bos_token} (as transformers does for Llama-style
     * tokenizers whose post-processor does not add it).
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
        boolean prependBos = addSpecialTokens && addBos && (ids.length == 0 || ids[0] != bosId);
        int[] out = new int[ids.length + (prependBos ? 1 : 0)];
        if (prependBos) {
            out[0] = bosId;
        }
        for (int i = 0; i < ids.length; i++) {
            out[i + (prependBos ? 1 : 0)] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Text of {@code ids[from, to)}. */
    public String decode(int[] ids, int from, int to, boolean skipSpecialTokens) {
        long[] window = new long[to - from];
        for (int i = from; i < to; i++) {
            window[i - from] = ids[i];
        }
        return tokenizer.decode(window, skipSpecialTokens);
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        return decode(ids, 0, ids.length, skipSpecialTokens);
    }

    /** One token's own text, special tokens included (for logprobs and {@code return_token_strs}). */
    public String tokenText(int id) {
        return tokenizer.decode(new long[] {id}, false);
    }

    /**
     * The most bytes of text one token can stand for (an upper bound), so that a text of {@code n} UTF-8 bytes has at
     * least {@code n / maxTokenBytes()} tokens: a bound on a prompt's length that costs no tokenization.
     */
    public int maxTokenBytes() {
        return maxTokenBytes;
    }

    /** The chat template, or null when the model has none. */
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /**
     * The longest text a vocabulary entry or added token stands for, in input bytes: a byte-level vocabulary spells
     * each byte as one character, any other in UTF-8. A normalizer may shorten the text before it is split (Unicode
     * composition, for one), so with a normalizer the bound is taken four times looser.
     */
    static int maxTokenBytes(JsonNode tokenizerJson) {
        boolean byteLevel = "ByteLevel".equals(tokenizerJson.path("decoder").path("type").asText());
        int max = 1;
        JsonNode vocab = tokenizerJson.path("model").path("vocab");
        if (vocab.isObject()) {
            for (var names = vocab.fieldNames(); names.hasNext(); ) {
                max = Math.max(max, textBytes(names.next(), byteLevel));
            }
        } else if (vocab.isArray()) {
            for (JsonNode entry : vocab) {
                max = Math.max(max, textBytes(entry.path(0).asText(), byteLevel));
            }
        }
        for (JsonNode added : tokenizerJson.path("added_tokens")) {
            max = Math.max(max, added.path("content").asText().getBytes(StandardCharsets.UTF_8).length);
        }
        JsonNode normalizer = tokenizerJson.path("normalizer");
        return normalizer.isMissingNode() || normalizer.isNull() ? max : 4 * max;
    }

    private static int textBytes(String piece, boolean byteLevel) {
        return byteLevel ? piece.codePointCount(0, piece.length()) : piece.getBytes(StandardCharsets.UTF_8).length;
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** A special token as tokenizer_config.json writes it: a string, or an AddedToken object with its content. */
    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        return n.isObject() ? n.path("content").asText(null) : n.asText();
    }

    private static Integer singleId(HuggingFaceTokenizer hf, String token) {
        long[] ids = hf.encode(token, false, false).getIds();
        return ids.length == 1 ? Math.toIntExact(ids[0]) : null;
    }

    /** The config's template: a string, or a list of named ones (the "default" is used); else chat_template.jinja. */
    private static String template(JsonNode config, Path dir) throws IOException {
        JsonNode t = config.get("chat_template");
        if (t != null && t.isTextual()) {
            return t.asText();
        }
        if (t != null && t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    return named.path("template").asText();
                }
            }
        }
        Path file = dir.resolve(TEMPLATE_FILE);
        return Files.isRegularFile(file) ? Files.readString(file) : null;
    }
}
