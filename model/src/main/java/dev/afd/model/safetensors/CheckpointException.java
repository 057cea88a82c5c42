package dev.afd.model.safetensors;

/**
 * A checkpoint that cannot be loaded: a missing or mis-shaped tensor, a truncated file, a bad header. The message
 * names the file or tensor, what was expected and what was found.
 */
public final class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
