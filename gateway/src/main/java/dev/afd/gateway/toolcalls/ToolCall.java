package dev.afd.gateway.toolcalls;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One call the model made.
 *
 * @param id the call's id, as the client echoes it back in the {@code tool} message that answers it
 * @param name the function called
 * @param arguments its arguments, a JSON text
 */
public record ToolCall(String id, String name, String arguments) {
    /** A fresh call id: vLLM's shape, {@code chatcmpl-tool-} and 32 random hex digits. */
    static String newId() {
        byte[] b = new byte[16];
        ThreadLocalRandom.current().nextBytes(b);
        return "chatcmpl-tool-" + HexFormat.of().formatHex(b);
    }
}
