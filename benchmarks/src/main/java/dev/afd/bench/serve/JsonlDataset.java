package dev.afd.bench.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --dataset jsonl --dataset-path FILE}: one JSON object per line, either {@code {"messages": [{"role":
 * "user", "content": "..."}, ...]}} (chat endpoint) or {@code {"prompt": "..."}} (either endpoint; on the chat
 * endpoint it becomes one user message). Blank lines are skipped; lines are used in file order, starting again at
 * the top when the run needs more requests than the file has. Every request asks for {@code outputLen} tokens.
 */
public record JsonlDataset(Path file, int outputLen) implements Dataset {
    public JsonlDataset {
        if (outputLen < 1) {
            throw new IllegalArgumentException("--random-output-len must be >= 1, got " + outputLen);
        }
    }

    @Override
    public List<PreparedRequest> requests(Context context, int count, long seed) throws IOException {
        List<PreparedRequest> bodies = new ArrayList<>();
        List<String> lines = Files.readAllLines(file);
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (!line.isEmpty()) {
                bodies.add(request(parse(n + 1, line), context, file + ":" + (n + 1)));
            }
        }
        if (bodies.isEmpty()) {
            throw new IllegalArgumentException("dataset " + file + " has no lines; each line must be a JSON object"
                    + " with \"messages\" or \"prompt\"");
        }
        List<PreparedRequest> requests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            requests.add(bodies.get(i % bodies.size()));
        }
        return requests;
    }

    @Override
    public boolean tokenIdPrompts() {
        return false;
    }

    @Override
    public String describe() {
        return "jsonl " + file + ", " + outputLen + " output tokens (ignore_eos)";
    }

    private JsonNode parse(int line, String text) {
        try {
            return Prompts.JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("dataset " + file + " line " + line + " is not JSON: "
                    + e.getOriginalMessage());
        }
    }

    private PreparedRequest request(JsonNode entry, Context context, String where) {
        JsonNode messages = entry.get("messages");
        JsonNode prompt = entry.get("prompt");
        if (messages != null && messages.isArray() && !messages.isEmpty()) {
            if (context.endpoint() != Endpoint.CHAT) {
                throw new IllegalArgumentException(where + " has \"messages\", which only the chat endpoint takes;"
                        + " use --endpoint chat");
            }
            ObjectNode body = Prompts.base(context.model(), outputLen);
            body.set("messages", messages);
            return new PreparedRequest(Prompts.bytes(body), -1);
        }
        if (prompt != null && prompt.isTextual()) {
            return Prompts.text(context.endpoint(), context.model(), prompt.asText(), outputLen);
        }
        throw new IllegalArgumentException(where + " needs a non-empty \"messages\" array or a \"prompt\" string");
    }
}
