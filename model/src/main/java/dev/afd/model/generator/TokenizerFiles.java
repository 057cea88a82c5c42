package dev.afd.model.generator;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.model.config.JsonFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a Hugging Face tokenizer for a generated model: {@code tokenizer.json} (byte-level BPE trained on a small
 * built-in multilingual corpus, in the {@code tokenizers} library's format) and {@code tokenizer_config.json} (special
 * tokens and a ChatML-style chat template with Hermes-style tool calls). The vocabulary covers exactly
 * {@code vocab_size} ids: BPE tokens first, the four special tokens of {@link SpecialTokens} last; the tool-call tags
 * are plain text.
 */
public final class TokenizerFiles {
    public static final String TOKENIZER = "tokenizer.json";
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

    /**
     * ChatML turns with Hermes-style tool calls (as Qwen2.5's template): the conversation starts with bos; with
     * {@code tools}, a system turn lists them (one JSON object per line inside {@code <tools>}) and asks for calls
     * as {@code <tool_call>{"name": ..., "arguments": ...}</tool_call>}; an assistant turn's {@code tool_calls} are
     * written back that way and a {@code tool} message is a user turn inside {@code <tool_response>}. Without tools it renders
     * plain ChatML. Written with literal newlines, none right after a block tag (trim_blocks would eat it).
     */
    public static final String CHAT_TEMPLATE = "{{ bos_token }}"
            + "{% if tools %}" + SpecialTokens.IM_START + "system\n"
            + "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}\n\n{% endif %}"
            + "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            + "{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}"
            + "</tools>\n\nFor each function call, return a json object with function name and arguments within"
            + " <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\":"
            + " <args-json-object>}\n</tool_call>" + SpecialTokens.IM_END + "\n{% endif %}"
            + "{% for message in messages %}"
            + "{% if tools and loop.first and message['role'] == 'system' %}"
            + "{% elif message['role'] == 'assistant' and message['tool_calls'] %}" + SpecialTokens.IM_START
            + "assistant\n{% if message['content'] %}{{ message['content'] }}\n{% endif %}"
            + "{% for call in message['tool_calls'] %}<tool_call>\n{\"name\": {{ call['function']['name'] | tojson }},"
            + " \"arguments\": {{ call['function']['arguments'] | tojson }}}\n</tool_call>\n{% endfor %}"
            + SpecialTokens.IM_END + "\n"
            + "{% elif message['role'] == 'tool' %}" + SpecialTokens.IM_START + "user\n<tool_response>\n"
            + "{{ message['content'] }}\n</tool_response>" + SpecialTokens.IM_END + "\n"
            + "{% else %}" + SpecialTokens.IM_START + "{{ message['role'] }}\n{{ message['content'] }}"
            + SpecialTokens.IM_END + "\n{% endif %}{% endfor %}"
            + "{% if add_generation_prompt %}" + SpecialTokens.IM_START + "assistant\n{% endif %}";

    private static final String CORPUS = "corpus.txt";
    private TokenizerFiles() {}

    /** Writes both files into {@code dir}; returns their paths. */
    public static List<Path> write(Path dir, int vocabSize, int maxPositions) throws IOException {
        SpecialTokens special = SpecialTokens.forVocab(vocabSize);
        BpeTrainer.Model bpe = BpeTrainer.train(corpus(), special.beginOfText());
        Path tokenizer = dir.resolve(TOKENIZER);
        Path config = dir.resolve(TOKENIZER_CONFIG);
        JsonFiles.write(tokenizer, tokenizerJson(bpe, special));
        JsonFiles.write(config, tokenizerConfig(special, maxPositions));
        return List.of(tokenizer, config);
    }

    /** The built-in training text. */
    static String corpus() {
        try (InputStream in = TokenizerFiles.class.getResourceAsStream(CORPUS)) {
            if (in == null) {
                throw new IllegalStateException(CORPUS + " is missing from the model jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode tokenizerJson(BpeTrainer.Model bpe, SpecialTokens special) {
        ObjectNode root = JsonFiles.object();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SpecialTokens.CONTENTS.size(); i++) {
            ObjectNode t = added.addObject();
            t.put("id", special.ids().get(i));
            t.put("content", SpecialTokens.CONTENTS.get(i));
            addedTokenFlags(t);
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false, true));
        root.set("post_processor", byteLevel(false, false));
        root.set("decoder", byteLevel(true, true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < bpe.tokens().size(); id++) {
            vocab.put(bpe.tokens().get(id), id);
        }
        // "left right" strings: every tokenizers version reads them, and byte-level tokens never contain a space.
        ArrayNode merges = model.putArray("merges");
        for (BpeTrainer.Pair p : bpe.merges()) {
            merges.add(p.left() + " " + p.right());
        }
        return root;
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        ObjectNode n = JsonFiles.object();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", addPrefixSpace);
        n.put("trim_offsets", trimOffsets);
        n.put("use_regex", true);
        return n;
    }

    private static void addedTokenFlags(ObjectNode t) {
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", true);
    }

    private static ObjectNode tokenizerConfig(SpecialTokens special, int maxPositions) {
        ObjectNode root = JsonFiles.object();
        root.put("add_bos_token", false);
        root.put("add_eos_token", false);
        ObjectNode decoder = root.putObject("added_tokens_decoder");
        for (int i = 0; i < SpecialTokens.CONTENTS.size(); i++) {
            ObjectNode t = decoder.putObject(Integer.toString(special.ids().get(i)));
            t.put("content", SpecialTokens.CONTENTS.get(i));
            addedTokenFlags(t);
        }
        root.put("bos_token", SpecialTokens.BEGIN_OF_TEXT);
        root.put("eos_token", SpecialTokens.END_OF_TEXT);
        root.putNull("pad_token");
        root.put("chat_template", CHAT_TEMPLATE);
        root.put("clean_up_tokenization_spaces", false);
        root.put("model_max_length", maxPositions);
        root.put("tokenizer_class", "PreTrainedTokenizerFast");
        return root;
    }
}
