package dev.afd.bench.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The requests of a workload. Every request streams ({@code stream: true}) with the usage chunk
 * ({@code stream_options.include_usage}) and {@code ignore_eos: true}, so each produces exactly its
 * {@code max_tokens} output tokens on servers that honour {@code ignore_eos} (vLLM, SGLang, ours).
 *
 * <p>Two sources:
 * <ul>
 *   <li><b>synthetic</b>: {@code prompt} is a list of token ids drawn uniformly from {@code [0, tokenRange)}, so the
 *       input length is exact whatever the server's tokenizer; completions endpoint only.
 *   <li><b>JSONL dataset</b>: one JSON object per line, either {@code {"messages": [{"role": "user", "content":
 *       "..."}, ...]}} (chat endpoint) or {@code {"prompt": "..."}} (either endpoint; on the chat endpoint it becomes
 *       one user message). Blank lines are skipped; lines are used in file order, starting again at the top when the
 *       run needs more requests than the file has.
 * </ul>
 */
public final class Prompts {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Prompts() {}

    /** {@code count} completions requests of exactly {@code inputLen} random token ids each. */
    public static List<PreparedRequest> synthetic(String model, int count, int inputLen, int outputLen, int tokenRange,
            long seed) {
        if (inputLen < 1 || outputLen < 1 || tokenRange < 1) {
            throw new IllegalArgumentException("--input-len, --output-len and the prompt token range must be >= 1, got "
                    + inputLen + ", " + outputLen + ", " + tokenRange);
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<PreparedRequest> requests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ObjectNode body = base(model, outputLen);
            ArrayNode ids = body.putArray("prompt");
            for (int t = 0; t < inputLen; t++) {
                ids.add(random.nextInt(tokenRange));
            }
            requests.add(new PreparedRequest(bytes(body), inputLen));
        }
        return requests;
    }

    /** {@code count} requests from a JSONL file of {@code messages} or {@code prompt} lines (see the class notes). */
    public static List<PreparedRequest> jsonl(Path file, Endpoint endpoint, String model, int count, int outputLen)
            throws IOException {
        if (outputLen < 1) {
            throw new IllegalArgumentException("--output-len must be >= 1, got " + outputLen);
        }
        List<ObjectNode> bodies = new ArrayList<>();
        List<String> lines = Files.readAllLines(file);
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (!line.isEmpty()) {
                bodies.add(body(parse(file, n + 1, line), endpoint, model, outputLen, file + ":" + (n + 1)));
            }
        }
        if (bodies.isEmpty()) {
            throw new IllegalArgumentException("dataset " + file + " has no lines; each line must be a JSON object"
                    + " with \"messages\" or \"prompt\"");
        }
        List<PreparedRequest> requests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            requests.add(new PreparedRequest(bytes(bodies.get(i % bodies.size())), -1));
        }
        return requests;
    }

    private static JsonNode parse(Path file, int line, String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("dataset " + file + " line " + line + " is not JSON: "
                    + e.getOriginalMessage());
        }
    }

    private static ObjectNode body(JsonNode entry, Endpoint endpoint, String model, int outputLen, String where) {
        ObjectNode body = base(model, outputLen);
        JsonNode messages = entry.get("messages");
        JsonNode prompt = entry.get("prompt");
        if (messages != null && messages.isArray() && !messages.isEmpty()) {
            if (endpoint != Endpoint.CHAT) {
                throw new IllegalArgumentException(where + " has \"messages\", which only the chat endpoint takes;"
                        + " use --endpoint chat");
            }
            body.set("messages", messages);
        } else if (prompt != null && prompt.isTextual()) {
            if (endpoint == Endpoint.CHAT) {
                body.putArray("messages").addObject().put("role", "user").put("content", prompt.asText());
            } else {
                body.put("prompt", prompt.asText());
            }
        } else {
            throw new IllegalArgumentException(where + " needs a non-empty \"messages\" array or a \"prompt\" string");
        }
        return body;
    }

    private static ObjectNode base(String model, int outputLen) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        body.put("max_tokens", outputLen);
        body.put("ignore_eos", true);
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        return body;
    }

    private static byte[] bytes(ObjectNode body) {
        try {
            return JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a request body built from a JSON tree could not be written", e);
        }
    }
}
