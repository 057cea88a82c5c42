package dev.afd.attention.server;

import dev.afd.attention.engine.Engine;
import dev.afd.attention.engine.EngineLoad;
import dev.afd.attention.engine.TokenSink;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.Sample;
import dev.afd.proto.AbortRequest;
import dev.afd.proto.AbortResponse;
import dev.afd.proto.AttentionServiceGrpc;
import dev.afd.proto.GenerateRequest;
import dev.afd.proto.GenerateResponse;
import dev.afd.proto.LoadRequest;
import dev.afd.proto.LoadResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The gateway-facing gRPC service of an attention node: {@code Generate} streams a request's tokens from the engine,
 * {@code Abort} stops one, {@code Load} reports queue and KV usage. A cancelled {@code Generate} call aborts its
 * request, so a client that goes away never holds KV blocks.
 */
final class AttentionService extends AttentionServiceGrpc.AttentionServiceImplBase {
    private final Engine engine;
    private final Supplier<String> unavailableReason;
    private final String fingerprint;
    private final int maxModelLen;

    /**
     * @param unavailableReason why the node cannot serve now (e.g. experts without a live ffn-node), or null
     */
    AttentionService(Engine engine, Supplier<String> unavailableReason, String fingerprint, int maxModelLen) {
        this.engine = engine;
        this.unavailableReason = unavailableReason;
        this.fingerprint = fingerprint;
        this.maxModelLen = maxModelLen;
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> observer) {
        ServerCallStreamObserver<GenerateResponse> call = (ServerCallStreamObserver<GenerateResponse>) observer;
        String id = request.getRequestId().isEmpty() ? UUID.randomUUID().toString() : request.getRequestId();
        String unavailable = unavailableReason.get();
        if (unavailable != null) {
            call.onError(Status.UNAVAILABLE.withDescription(unavailable).asRuntimeException());
            return;
        }
        GenerationRequest generation;
        try {
            generation = ProtoRequests.fromProto(request);
        } catch (IllegalArgumentException e) {
            call.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        call.setOnCancelHandler(() -> engine.abort(id));
        try {
            engine.submit(id, generation, new StreamSink(call));
        } catch (IllegalArgumentException e) {
            call.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (IllegalStateException e) {
            call.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void abort(AbortRequest request, StreamObserver<AbortResponse> observer) {
        observer.onNext(AbortResponse.newBuilder().setAborted(engine.abort(request.getRequestId())).build());
        observer.onCompleted();
    }

    @Override
    public void load(LoadRequest request, StreamObserver<LoadResponse> observer) {
        EngineLoad l = engine.load();
        observer.onNext(LoadResponse.newBuilder()
                .setWaiting(l.waiting())
                .setRunning(l.running())
                .setKvBlocksUsed(l.kvBlocksUsed())
                .setKvBlocksFree(l.kvBlocksFree())
                .setPreemptions(l.preemptions())
                .setServing(unavailableReason.get() == null)
                .setModelFingerprint(fingerprint)
                .setMaxModelLen(maxModelLen)
                .build());
        observer.onCompleted();
    }

    /** Writes engine output to one call. Runs on the engine thread; a cancelled call is skipped, not written to. */
    private record StreamSink(ServerCallStreamObserver<GenerateResponse> call) implements TokenSink {
        @Override
        public void onToken(Sample sample) {
            if (!call.isCancelled()) {
                call.onNext(ProtoRequests.token(sample));
            }
        }

        @Override
        public void onFinish(GenerationResult result) {
            if (!call.isCancelled()) {
                call.onNext(ProtoRequests.finish(result));
                call.onCompleted();
            }
        }

        @Override
        public void onError(String message) {
            if (!call.isCancelled()) {
                call.onError(Status.UNAVAILABLE.withDescription(message).asRuntimeException());
            }
        }
    }
}
