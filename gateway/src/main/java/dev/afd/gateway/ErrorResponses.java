package dev.afd.gateway;

import dev.afd.gateway.http.Response;
import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.OpenAiJson;
import java.util.Map;

/** API errors as HTTP responses: the OpenAI error body, and {@code Retry-After} when retrying helps. */
final class ErrorResponses {
    private ErrorResponses() {}

    static Response of(ApiException e) {
        return new Response(e.status(), "application/json", OpenAiJson.bytes(OpenAiJson.error(e)),
                e.retryAfterSeconds() == null ? Map.of() : Map.of("Retry-After", e.retryAfterSeconds().toString()));
    }
}
