package dev.afd.attention.ffn;

import dev.afd.ffn.core.FrameProcessor;
import dev.afd.ffn.core.HandshakeRefusedException;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.Handshake;
import dev.afd.proto.HandshakeAccepted;
import dev.afd.proto.ResultFrame;
import dev.afd.proto.WireDtype;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An ffn-node in this process: frames are encoded, processed by the node's {@link FrameProcessor} and decoded exactly
 * as over gRPC, only without the socket. One worker thread plays the remote node, so the attention side still
 * overlaps the next micro-batch with this one's FFN.
 */
public final class InProcessFfnLink implements FfnLink {
    private final FrameProcessor processor;
    private final WireDtype responseDtype;
    private final HandshakeAccepted accepted;
    private final ExecutorService worker;
    private final AtomicLong ids = new AtomicLong();

    public InProcessFfnLink(FrameProcessor processor, Handshake handshake) throws HandshakeRefusedException {
        this.processor = processor;
        this.responseDtype = handshake.getResponseDtype();
        this.accepted = processor.accept(handshake);
        this.worker = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("afd-ffn-in-process")
                .daemon().unstarted(r));
    }

    @Override
    public String node() {
        return accepted.getNode();
    }

    @Override
    public HandshakeAccepted accepted() {
        return accepted;
    }

    @Override
    public CompletableFuture<ResultFrame> send(ActivationFrame.Builder frame) {
        ActivationFrame f = frame.setId(ids.incrementAndGet()).build();
        return CompletableFuture.supplyAsync(() -> processor.process(f, responseDtype), worker);
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
