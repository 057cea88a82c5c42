package dev.afd.model.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.model.generator.ByteLevel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;

/**
 * The text of every token as bytes, and a trie over them for walking a grammar through the whole vocabulary at
 * once: the trie is flattened in pre-order, so a walk is one loop that skips a subtree when its prefix is refused.
 * Special tokens have no bytes: a grammar never produces them (end-of-sequence is allowed separately).
 *
 * <p>Immutable; shared by every sequence of an engine.
 */
public final class Vocabulary {
    public static final String TOKENIZER = "tokenizer.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final byte[][] tokenBytes;
    /** Pre-order trie, root excluded: the byte read, the depth (1 for the root's children), the next subtree. */
    final byte[] trieByte;
    final int[] trieDepth;
    final int[] trieSkip;
    /** Tokens ending at trie node i: {@code trieTokens[trieTokenStart[i] .. trieTokenStart[i + 1])}. */
    final int[] trieTokenStart;
    final int[] trieTokens;
    final int maxDepth;

    /** @param tokenBytes indexed by token id; null for tokens a grammar never produces */
    public Vocabulary(byte[][] tokenBytes) {
        this.tokenBytes = tokenBytes.clone();
        Integer[] order = new Integer[tokenBytes.length];
        int usable = 0;
        for (int t = 0; t < tokenBytes.length; t++) {
            if (tokenBytes[t] != null && tokenBytes[t].length > 0) {
                order[usable++] = t;
            }
        }
        Integer[] sorted = Arrays.copyOf(order, usable);
        Arrays.sort(sorted, (a, b) -> Arrays.compareUnsigned(tokenBytes[a], tokenBytes[b]));
        // Each token adds at most its length in nodes; count exactly with a first pass over the sorted tokens.
        int nodes = 0;
        byte[] previous = new byte[0];
        int longest = 0;
        for (int t : sorted) {
            nodes += tokenBytes[t].length - common(previous, tokenBytes[t]);
            previous = tokenBytes[t];
            longest = Math.max(longest, previous.length);
        }
        trieByte = new byte[nodes];
        trieDepth = new int[nodes];
        trieSkip = new int[nodes];
        trieTokenStart = new int[nodes + 1];
        trieTokens = new int[usable];
        maxDepth = longest;
        int n = 0;
        previous = new byte[0];
        int tokenAt = 0;
        for (int t : sorted) {
            byte[] b = tokenBytes[t];
            int shared = common(previous, b);
            for (int d = shared; d < b.length; d++) {
                trieByte[n] = b[d];
                trieDepth[n] = d + 1;
                trieTokenStart[n] = tokenAt;
                n++;
            }
            trieTokens[tokenAt++] = t;
            trieTokenStart[n] = tokenAt;
            previous = b;
        }
        // A node's subtree ends at the next node no deeper than it.
        int[] open = new int[longest + 2];
        int depth = 0;
        for (int i = 0; i < nodes; i++) {
            while (depth > 0 && trieDepth[open[depth - 1]] >= trieDepth[i]) {
                trieSkip[open[--depth]] = i;
            }
            open[depth++] = i;
        }
        while (depth > 0) {
            trieSkip[open[--depth]] = nodes;
        }
    }

    private static int common(byte[] a, byte[] b) {
        int m = Math.min(a.length, b.length);
        int i = 0;
        while (i < m && a[i] == b[i]) {
            i++;
        }
        return i;
    }

    /**
     * Reads {@code dir/tokenizer.json}: a byte-level BPE vocabulary (GPT-2's alphabet, as Step-3 and the generated
     * models use), with non-special added tokens as their UTF-8 text.
     *
     * @param vocabSize the model's vocabulary size (ids beyond the tokenizer's get no bytes)
     * @throws IOException when the file is missing or is not a byte-level vocabulary, saying so
     */
    public static Vocabulary load(Path dir, int vocabSize) throws IOException {
        Path file = dir.resolve(TOKENIZER);
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + " has no " + TOKENIZER + "; structured output needs the model's tokenizer"
                    + " next to its weights");
        }
        JsonNode root = JSON.readTree(file.toFile());
        String decoder = root.path("decoder").path("type").asText("");
        if (!"ByteLevel".equals(decoder)) {
            throw new IOException(file + " has decoder '" + decoder + "', not ByteLevel; structured output supports"
                    + " byte-level BPE vocabularies only");
        }
        byte[][] bytes = new byte[vocabSize][];
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("model").path("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().asInt(-1);
            if (id >= 0 && id < vocabSize) {
                bytes[id] = ByteLevel.decode(e.getKey());
            }
        }
        for (JsonNode added : root.path("added_tokens")) {
            int id = added.path("id").asInt(-1);
            if (id >= 0 && id < vocabSize) {
                bytes[id] = added.path("special").asBoolean(false) ? null
                        : added.path("content").asText().getBytes(StandardCharsets.UTF_8);
            }
        }
        return new Vocabulary(bytes);
    }

    public int size() {
        return tokenBytes.length;
    }

    /** The token's bytes, or null when a grammar never produces it. Do not modify. */
    public byte[] bytes(int token) {
        return tokenBytes[token];
    }
}
