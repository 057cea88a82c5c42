package dev.afd.gateway.structured;

/** A constraint the engine cannot honour; the message names the construct and where it is. */
public final class UnsupportedConstraintException extends IllegalArgumentException {
    public UnsupportedConstraintException(String message) {
        super(message);
    }
}
