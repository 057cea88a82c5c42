package dev.afd.bench.serve;

import java.util.Locale;

/** The OpenAI route a benchmark sends to. */
public enum Endpoint {
    /** {@code POST /v1/completions}: prompts as token-id lists (exact input lengths) or strings. */
    COMPLETIONS("/v1/completions"),
    /** {@code POST /v1/chat/completions}: chat messages; the server applies the chat template. */
    CHAT("/v1/chat/completions");

    private final String path;

    Endpoint(String path) {
        this.path = path;
    }

    public String path() {
        return path;
    }

    /** {@code completions} or {@code chat}, as on the command line. */
    public static Endpoint parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "completions" -> COMPLETIONS;
            case "chat" -> CHAT;
            default -> throw new IllegalArgumentException("unknown endpoint '" + name
                    + "': use completions (/v1/completions) or chat (/v1/chat/completions)");
        };
    }
}
