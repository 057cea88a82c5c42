package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A JSON-over-HTTP client of one gateway, for tests. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final String DONE = "data: [DONE]\n\n";

    final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final int port;

    Http(int port) {
        this.port = port;
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** POSTs and returns the 200 answer's JSON. */
    JsonNode postOk(String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = post(path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    /** POSTs a streaming request; returns its events' JSON, checking the stream's framing and {@code [DONE]}. */
    List<JsonNode> stream(String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = post(path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        return events(r.body());
    }

    static List<JsonNode> events(String body) throws IOException {
        assertThat(body).endsWith(DONE);
        List<JsonNode> out = new ArrayList<>();
        for (String event : body.substring(0, body.length() - DONE.length()).split("\n\n")) {
            if (event.isEmpty()) {
                continue;
            }
            assertThat(event).startsWith("data: ");
            out.add(JSON.readTree(event.substring("data: ".length())));
        }
        return out;
    }

    /** The OpenAI error of a failed response, after checking its shape and status. */
    static JsonNode error(HttpResponse<String> r, int status) throws IOException {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("application/json");
        JsonNode e = JSON.readTree(r.body()).path("error");
        assertThat(e.has("message") && e.has("type") && e.has("param") && e.has("code")).as(r.body()).isTrue();
        return e;
    }
}
