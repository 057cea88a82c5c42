package dev.afd.attention.server;

import dev.afd.attention.engine.Engine;
import dev.afd.attention.engine.EngineLoad;
import dev.afd.attention.engine.TokenSink;
import dev.afd.attention.ffn.DisaggregatedFfn;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.PromptLogprob;
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
import dev.afd.telemetry.RequestContext;
import dev.afd.telemetry.RequestIds;
import dev.afd.telemetry.Tracing;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.UUID;

/**
 * The gateway-facing gRPC service of an attention node: {@code Generate} streams a request's tokens from the engine,
 * {@code Abort} stops one, {@code Load} reports queue and KV usage. A cancelled {@code Generate} call aborts its
 * request, so a client that goes away never holds KV blocks.
 *
 * <p>Each Generate call is one request: it runs with the context from the call's metadata (a new request id when the
 * caller sent none), gets its own span, and its output goes through an {@link ObservedSink}, which logs and times it
 * with that context on the engine thread.
 */
final class AttentionService extends AttentionServiceGrpc.AttentionServiceImplBase {
    private static final System.Logger LOG = System.getLogger(AttentionService.class.getName());

    private final Engine engine;
    private final DisaggregatedFfn ffn;
    private final Tracing tracing;

    /**
     * @param ffn the node's ffn side: whether every expert is covered, and exchange statistics
     * @param tracing where each call's span goes
     */
    AttentionService(Engine engine, DisaggregatedFfn ffn, Tracing tracing) {
        this.engine = engine;
        this.ffn = ffn;
        this.tracing = tracing;
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> observer) {
        RequestContext sent = RequestContext.current();
        RequestContext context = sent != null ? sent : RequestContext.of(RequestIds.generate());
        context.run(() -> generate(request, (ServerCallStreamObserver<GenerateResponse>) observer, context));
    }

    private void generate(GenerateRequest request, ServerCallStreamObserver<GenerateResponse> call,
            RequestContext context) {
        String id = request.getRequestId().isEmpty() ? UUID.randomUUID().toString() : request.getRequestId();
        LOG.log(Level.DEBUG, () -> "received " + id + ": " + request.getPromptIdsCount() + " prompt tokens, at most "
                + request.getMaxTokens() + " to generate");
        String unavailable = ffn.unavailableReason();
        if (unavailable != null) {
            LOG.log(Level.DEBUG, () -> "refused " + id + ": " + unavailable);
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
        ObservedSink sink = new ObservedSink(new StreamSink(call), id, context,
                tracing.start("AttentionService/Generate", context));
        try {
            engine.submit(id, generation, sink);
        } catch (IllegalArgumentException e) {
            sink.refused(e.getMessage());
            call.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (IllegalStateException e) {
            sink.refused(e.getMessage());
            // The engine is shutting down: another node can serve the request, which is what UNAVAILABLE says.
            call.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
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
                .setServing(ffn.unavailableReason() == null)
                .setModelFingerprint(engine.model().config().fingerprint())
                .setMaxModelLen(engine.model().config().maxPositions())
                .setFfn(ffn.stats().toProto(ffn.tier()))
                .setKvBlocksCached(l.kvBlocksCached())
                .setPrefixCacheQueries(l.prefixQueriedTokens())
                .setPrefixCacheHits(l.prefixHitTokens())
                .setKvEvictions(l.kvEvictions())
                .build());
        observer.onCompleted();
    }

    /** Writes engine output to one call. Runs on the engine thread; a cancelled call is skipped, not written to. */
    private record StreamSink(ServerCallStreamObserver<GenerateResponse> call) implements TokenSink {
        @Override
        public void onPromptLogprobs(List<PromptLogprob> prompt) {
            if (!call.isCancelled()) {
                call.onNext(ProtoRequests.promptLogprobs(prompt));
            }
        }

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
