package dev.afd.ffn;

import dev.afd.ffn.core.FrameProcessor;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.ExchangeRequest;
import dev.afd.proto.ExchangeResponse;
import dev.afd.proto.FfnServiceGrpc;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.ObjLongConsumer;

/**
 * The {@code Exchange} service: one long-lived bidirectional stream per attention node, handshake first, then
 * frames in and results out. Each stream is an {@link ExchangeStream}; frames are computed on {@code compute}.
 */
public final class FfnService extends FfnServiceGrpc.FfnServiceImplBase {
    /**
     * Frames one stream may have received but not yet answered. An attention node keeps at most one frame per
     * micro-batch (four at most) outstanding; a few more let it run ahead, and the bound keeps a client that sends
     * faster than this node computes from piling frames up in memory.
     */
    public static final int MAX_FRAMES_IN_FLIGHT = 8;

    private final FrameProcessor processor;
    private final Executor compute;
    private final Consumer<Error> fatal;
    private final ObjLongConsumer<ActivationFrame> computed;
    /** Open streams, for draining; a stream leaves when it is over. */
    private final Set<ExchangeStream> streams = ConcurrentHashMap.newKeySet();
    private volatile String drainReason;

    /**
     * @param compute runs the frames of every stream ({@link FfnServer} runs them on the network thread that read
     *     them: the kernels fan out on their own pool)
     * @param fatal told of an error after which the node must stop serving (out of memory)
     * @param computed told of each frame computed without error, with its compute time in nanoseconds
     */
    public FfnService(FrameProcessor processor, Executor compute, Consumer<Error> fatal,
            ObjLongConsumer<ActivationFrame> computed) {
        this.processor = processor;
        this.compute = compute;
        this.fatal = fatal;
        this.computed = computed;
    }

    @Override
    public StreamObserver<ExchangeRequest> exchange(StreamObserver<ExchangeResponse> responses) {
        ServerCallStreamObserver<ExchangeResponse> call = (ServerCallStreamObserver<ExchangeResponse>) responses;
        ExchangeStream stream = new ExchangeStream(processor, compute, call, MAX_FRAMES_IN_FLIGHT, fatal,
                streams::remove, computed);
        streams.add(stream);
        String reason = drainReason;
        if (reason != null) {
            stream.drain(reason); // told right after its handshake
        }
        return stream;
    }

    /** Tells every client, now and from now on, that this node is draining. */
    public void drain(String reason) {
        drainReason = reason;
        streams.forEach(s -> s.drain(reason));
    }

    /** Frames received and not yet answered, over every open stream. */
    public int framesInFlight() {
        return streams.stream().mapToInt(ExchangeStream::inFlight).sum();
    }

    /** Open streams (one per attention node). */
    public int streams() {
        return streams.size();
    }

    /** Whether every client has gone quiet: no frame in flight and none received for {@code quiet}. */
    public boolean quiet(Duration quiet) {
        return streams.stream().allMatch(s -> s.quietFor(quiet.toNanos()));
    }
}
