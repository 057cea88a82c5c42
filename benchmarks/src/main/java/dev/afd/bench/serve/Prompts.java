package dev.afd.bench.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.SplittableRandom;

/**
 * Request bodies, shared by the datasets: every request streams ({@code stream: true}) with the usage chunk
 * ({@code stream_options.include_usage}) and {@code ignore_eos: true}.
 */
final class Prompts {
    static final ObjectMapper JSON = new ObjectMapper();

    private Prompts() {}

    /** A completions request whose prompt is the given token ids. */
    static PreparedRequest tokenIds(String model, int[] ids, int outputLen) {
        ObjectNode body = base(model, outputLen);
        ArrayNode prompt = body.putArray("prompt");
        for (int id : ids) {
            prompt.add(id);
        }
        return new PreparedRequest(bytes(body), ids.length);
    }

    /** A text prompt: {@code prompt} on completions, one user message on chat; its length is the server's to say. */
    static PreparedRequest text(Endpoint endpoint, String model, String text, int outputLen) {
        ObjectNode body = base(model, outputLen);
        if (endpoint == Endpoint.CHAT) {
            body.putArray("messages").addObject().put("role", "user").put("content", text);
        } else {
            body.put("prompt", text);
        }
        return new PreparedRequest(bytes(body), -1);
    }

    /** {@code length} token ids drawn uniformly from {@code [0, tokenRange)}. */
    static int[] randomIds(SplittableRandom random, int length, int tokenRange) {
        return random.ints(length, 0, tokenRange).toArray();
    }

    static ObjectNode base(String model, int outputLen) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        body.put("max_tokens", outputLen);
        body.put("ignore_eos", true);
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        return body;
    }

    static byte[] bytes(ObjectNode body) {
        try {
            return JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a request body built from a JSON tree could not be written", e);
        }
    }
}
