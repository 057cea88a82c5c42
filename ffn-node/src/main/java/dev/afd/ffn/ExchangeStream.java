package dev.afd.ffn;

import dev.afd.ffn.core.FrameProcessor;
import dev.afd.ffn.core.HandshakeRefusedException;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.Draining;
import dev.afd.proto.ExchangeRequest;
import dev.afd.proto.ExchangeResponse;
import dev.afd.proto.HandshakeAccepted;
import dev.afd.proto.ResultFrame;
import dev.afd.proto.WireDtype;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.ObjLongConsumer;

/**
 * One {@code Exchange} stream with manual flow control: a message is requested from the client only when the
 * previous one has been handed off, fewer than {@code maxInFlight} frames await their results, and the client is
 * reading results ({@code isReady()}). Results wait in {@link #unsent} while the transport is not ready and go out
 * from the on-ready handler.
 *
 * <p>Threading: gRPC calls {@code onNext}, {@code onError}, {@code onCompleted} and the ready and cancel handlers
 * one at a time; frames are computed on {@code compute} (the node runs them right on the network thread that read
 * them, see {@link FfnServer}; a test may queue them), so finished frames may arrive from another thread at any
 * moment. Every field and every call on {@link #responses} (which is not thread-safe) is guarded by {@code this}.
 * Compute work never holds the lock.
 */
final class ExchangeStream implements StreamObserver<ExchangeRequest> {
    private static final System.Logger LOG = System.getLogger(ExchangeStream.class.getName());

    private final FrameProcessor processor;
    private final Executor compute;
    private final ServerCallStreamObserver<ExchangeResponse> responses;
    private final int maxInFlight;
    /** Told when the node cannot go on (out of memory); stops the whole server. */
    private final Consumer<Error> fatal;
    /** Told once when the stream is over, so the service forgets it. */
    private final Consumer<ExchangeStream> over;
    /** Told of each frame computed without error, with its compute time in nanoseconds (for metrics). */
    private final ObjLongConsumer<ActivationFrame> computed;

    private final ArrayDeque<ExchangeResponse> unsent = new ArrayDeque<>();
    private String client = "a client that has not shaken hands";
    /** Agreed in the handshake; null before it. */
    private WireDtype responseDtype;
    /** Frames received whose result has not gone out yet (computing, queued, or waiting in {@link #unsent}). */
    private int inFlight;
    /** A {@code request(1)} is outstanding: asking again would let two messages in. */
    private boolean awaitingMessage;
    private boolean clientDone;
    /** The stream is over (completed, failed or cancelled): nothing more is sent or computed. */
    private boolean closed;
    /** Why the node is draining, once it is; told to the client once, after its handshake. */
    private String drainReason;
    private boolean drainTold;
    /** When the last frame arrived ({@link System#nanoTime()}). */
    private long lastFrameNanos = System.nanoTime();

    ExchangeStream(FrameProcessor processor, Executor compute, ServerCallStreamObserver<ExchangeResponse> responses,
            int maxInFlight, Consumer<Error> fatal, Consumer<ExchangeStream> over,
            ObjLongConsumer<ActivationFrame> computed) {
        this.processor = processor;
        this.over = over;
        this.computed = computed;
        this.compute = compute;
        this.responses = responses;
        this.maxInFlight = maxInFlight;
        this.fatal = fatal;
        // Both must happen before the service method returns.
        responses.disableAutoRequest();
        responses.setOnReadyHandler(this::onReady);
        responses.setOnCancelHandler(this::onCancel);
        synchronized (this) {
            awaitingMessage = true;
            responses.request(1); // the handshake
        }
    }

    @Override
    public void onNext(ExchangeRequest request) {
        Runnable work = accept(request);
        if (work == null) {
            return;
        }
        compute.execute(work);
    }

    /** Takes in one message; returns the frame's computation, to run outside the lock, or null when there is none. */
    private synchronized Runnable accept(ExchangeRequest request) {
        awaitingMessage = false;
        if (closed) {
            return null;
        }
        if (responseDtype == null) {
            handshake(request);
            return null;
        }
        if (!request.hasFrame()) {
            fail(Status.FAILED_PRECONDITION, client + " sent " + describe(request) + " on a stream that already"
                    + " shook hands; send only frames after the handshake");
            return null;
        }
        ActivationFrame frame = request.getFrame();
        WireDtype dtype = responseDtype;
        lastFrameNanos = System.nanoTime();
        inFlight++;
        // Asking now is safe even when compute runs on this thread: gRPC delivers the next message only after this
        // one's handler has returned.
        requestIfRoom();
        return () -> computeAndSend(frame, dtype);
    }

    private void handshake(ExchangeRequest request) {
        if (!request.hasHandshake()) {
            fail(Status.FAILED_PRECONDITION, "the first message on an Exchange stream must be a Handshake, got "
                    + describe(request) + "; send the Handshake before any frame");
            return;
        }
        HandshakeAccepted accepted;
        try {
            accepted = processor.accept(request.getHandshake());
        } catch (HandshakeRefusedException e) {
            LOG.log(Level.WARNING, "refused a handshake: {0}", e.getMessage());
            fail(Status.FAILED_PRECONDITION, e.getMessage());
            return;
        }
        client = request.getHandshake().getClient().isBlank() ? "an unnamed client"
                : request.getHandshake().getClient();
        responseDtype = request.getHandshake().getResponseDtype();
        // One small message: sent even if the transport is not ready yet, gRPC buffers it.
        responses.onNext(ExchangeResponse.newBuilder().setAccepted(accepted).build());
        LOG.log(Level.INFO, "{0} connected to {1}", client, accepted.getNode());
        tellDrain();
        requestIfRoom();
    }

    /** On the compute executor, without the lock. */
    private void computeAndSend(ActivationFrame frame, WireDtype dtype) {
        synchronized (this) {
            if (closed) {
                return; // nobody is listening any more: skip the work
            }
        }
        ResultFrame result;
        try {
            result = processor.process(frame, dtype);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "frame " + frame.getId() + " from " + client + " failed", e);
            synchronized (this) {
                fail(Status.INTERNAL.withCause(e), "frame " + frame.getId() + " failed on " + processor.node() + ": "
                        + e);
            }
            return;
        } catch (OutOfMemoryError e) {
            // After an OutOfMemoryError any thread may be left half done: this node must not serve on as if nothing
            // happened. Tell the client, then stop the node; its attention nodes fail over to the others.
            synchronized (this) {
                fail(Status.RESOURCE_EXHAUSTED.withCause(e), processor.node() + " ran out of memory computing frame "
                        + frame.getId() + " and stops serving");
            }
            fatal.accept(e);
            return;
        }
        if (result.getError().isEmpty()) {
            computed.accept(frame, result.getComputeNanos());
        }
        synchronized (this) {
            if (!closed) {
                unsent.add(ExchangeResponse.newBuilder().setResult(result).build());
                drain();
            }
        }
    }

    /**
     * The node is shutting down: tell the client (once it has shaken hands) so it sends new frames to other holders;
     * frames that still come are answered as usual.
     */
    synchronized void drain(String reason) {
        drainReason = reason;
        tellDrain();
    }

    /** Frames received whose result has not gone out yet. */
    synchronized int inFlight() {
        return inFlight;
    }

    /**
     * Whether the client has gone quiet since the drain began: nothing in flight and no frame for {@code quiet}, or
     * the stream is over.
     */
    synchronized boolean quietFor(long quietNanos) {
        return closed || inFlight == 0 && System.nanoTime() - lastFrameNanos >= quietNanos;
    }

    private void tellDrain() {
        if (drainReason != null && !drainTold && responseDtype != null && !closed) {
            drainTold = true;
            // One small message: gRPC buffers it if the transport is not ready.
            responses.onNext(ExchangeResponse.newBuilder()
                    .setDraining(Draining.newBuilder().setReason(drainReason)).build());
        }
    }

    private synchronized void onReady() {
        if (!closed) {
            drain();
        }
    }

    /** Sends what the transport takes now, finishes a half-closed stream once all is sent, asks for more. */
    private void drain() {
        while (!unsent.isEmpty() && responses.isReady()) {
            responses.onNext(unsent.poll());
            inFlight--;
        }
        if (clientDone && inFlight == 0) {
            release();
            responses.onCompleted();
            return;
        }
        requestIfRoom();
    }

    private void requestIfRoom() {
        // Not reading while results cannot go out is what pushes back on a client that does not read them.
        if (!closed && !clientDone && !awaitingMessage && inFlight < maxInFlight && responses.isReady()) {
            awaitingMessage = true;
            responses.request(1);
        }
    }

    /** The client half-closed: answer what is in flight, then complete. */
    @Override
    public synchronized void onCompleted() {
        clientDone = true;
        if (!closed) {
            drain();
        }
    }

    /** The client cancelled or the connection broke; the call is already over, so only release our state. */
    @Override
    public synchronized void onError(Throwable t) {
        LOG.log(Level.DEBUG, "Exchange stream of {0} ended: {1}", client, Status.fromThrowable(t));
        release();
    }

    private synchronized void onCancel() {
        LOG.log(Level.DEBUG, "{0} cancelled its Exchange stream with {1} frames in flight", client, inFlight);
        release();
    }

    private void release() {
        if (!closed) {
            closed = true;
            over.accept(this);
        }
        unsent.clear();
    }

    private void fail(Status status, String description) {
        if (closed) {
            return;
        }
        release();
        responses.onError(status.withDescription(description).asRuntimeException());
    }

    private static String describe(ExchangeRequest request) {
        return switch (request.getKindCase()) {
            case FRAME -> "frame " + request.getFrame().getId();
            case HANDSHAKE -> "a second handshake";
            case KIND_NOT_SET -> "an empty request";
        };
    }
}
