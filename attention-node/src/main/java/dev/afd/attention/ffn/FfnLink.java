package dev.afd.attention.ffn;

import dev.afd.proto.ActivationFrame;
import dev.afd.proto.HandshakeAccepted;
import dev.afd.proto.ResultFrame;
import java.util.concurrent.CompletableFuture;

/**
 * The attention side of one ffn-node's {@code Exchange}: over gRPC, or in process through the same frames.
 *
 * <p>Threading: {@link #send} may be called from the engine thread while results complete on transport threads.
 */
public interface FfnLink extends AutoCloseable {
    /** The node's name for messages, e.g. {@code "ffn 127.0.0.1:7101"}. */
    String node();

    /** What the node said at the handshake; {@code null} while not connected. */
    HandshakeAccepted accepted();

    /** Whether the link is connected and may take frames. */
    default boolean live() {
        return accepted() != null;
    }

    /**
     * Whether the node said it is shutting down: it still answers, but new frames should go to other holders of its
     * experts where there are any.
     */
    default boolean draining() {
        return false;
    }

    /** How many times the node said it was draining. */
    default long drains() {
        return 0;
    }

    /** Whether no frame sent on the link awaits its answer. */
    default boolean idle() {
        return true;
    }

    /** How many times the link was re-established after a failure. */
    default long reconnects() {
        return 0;
    }

    /**
     * Sends one frame (its id is assigned here) and completes with the node's answer; completes exceptionally with
     * an {@code FfnException} naming the node when the link fails or the deadline passes.
     */
    CompletableFuture<ResultFrame> send(ActivationFrame.Builder frame);

    @Override
    void close();
}
