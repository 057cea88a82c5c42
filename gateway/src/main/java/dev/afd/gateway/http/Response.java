package dev.afd.gateway.http;

import java.util.Map;

/** A whole response: status, body and the headers beyond Content-Type and Content-Length. */
public record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
    public Response {
        headers = Map.copyOf(headers);
    }
}
