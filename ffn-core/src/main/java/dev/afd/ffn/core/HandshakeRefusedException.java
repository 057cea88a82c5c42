package dev.afd.ffn.core;

/** A handshake that this node cannot accept; the message names both sides and what to change. */
public final class HandshakeRefusedException extends Exception {
    public HandshakeRefusedException(String message) {
        super(message);
    }
}
