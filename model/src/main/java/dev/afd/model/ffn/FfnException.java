package dev.afd.model.ffn;

/** The FFN half of a step could not be computed (a node died, timed out, or refused work); the message names why. */
public class FfnException extends RuntimeException {
    public FfnException(String message) {
        super(message);
    }

    public FfnException(String message, Throwable cause) {
        super(message, cause);
    }
}
