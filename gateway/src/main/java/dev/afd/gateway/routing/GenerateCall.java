package dev.afd.gateway.routing;

import dev.afd.proto.GenerateRequest;
import dev.afd.proto.GenerateResponse;
import dev.afd.telemetry.RequestContext;
import io.grpc.ClientCall;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;

/**
 * One Generate call in flight on an attention node. Cancelling it cancels the gRPC call, which aborts the request on
 * the node and frees its KV blocks there. Messages are taken from the node only as fast as they are handed on:
 * {@link #pause} stops asking for more (gRPC's flow control then holds the node's stream), {@link #resume} asks again.
 *
 * <p>Thread-safe: {@link #cancel}, {@link #pause} and {@link #resume} may be called from any thread, any number of
 * times.
 */
public final class GenerateCall {
    /** Messages asked for ahead of their use: enough to keep a stream flowing, few enough to bound a stall. */
    private static final int WINDOW = 16;

    private final ClientCall<GenerateRequest, GenerateResponse> call;
    private final AttentionEndpoint endpoint;
    private final Observer observer;

    private GenerateCall(ClientCall<GenerateRequest, GenerateResponse> call, AttentionEndpoint endpoint,
            Observer observer) {
        this.call = call;
        this.endpoint = endpoint;
        this.observer = observer;
    }

    static GenerateCall start(ClientCall<GenerateRequest, GenerateResponse> call, AttentionEndpoint endpoint,
            GenerateRequest request, RequestContext context, GenerateListener listener) {
        Observer observer = new Observer(endpoint, context, listener);
        ClientCalls.asyncServerStreamingCall(call, request, observer);
        return new GenerateCall(call, endpoint, observer);
    }

    /** Stops taking messages from the node once those already asked for have come. */
    public void pause() {
        observer.pause();
    }

    /** Takes messages again. */
    public void resume() {
        observer.resume();
    }

    /** The node serving the call. */
    public AttentionEndpoint endpoint() {
        return endpoint;
    }

    /** Stops the call; the listener then gets {@code onError(CANCELLED)} unless it already finished. */
    public void cancel(String why) {
        call.cancel(why, null);
    }

    /**
     * Adapts the stream to the listener: tokens as they come, the finish as soon as its message arrives. Each message
     * handed on asks for one more unless paused; the ones not asked for while paused are asked for on resume. The
     * listener is called with the request's context bound (these callbacks run on gRPC's threads).
     */
    private static final class Observer implements ClientResponseObserver<GenerateRequest, GenerateResponse> {
        private final AttentionEndpoint endpoint;
        private final RequestContext context;
        private final GenerateListener listener;
        private boolean finished;
        /** Guarded by this. */
        private ClientCallStreamObserver<GenerateRequest> stream;
        private boolean paused;
        private int owed;

        Observer(AttentionEndpoint endpoint, RequestContext context, GenerateListener listener) {
            this.endpoint = endpoint;
            this.context = context;
            this.listener = listener;
        }

        @Override
        public synchronized void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
            stream = requestStream;
            requestStream.disableAutoRequestWithInitial(WINDOW);
        }

        synchronized void pause() {
            paused = true;
        }

        synchronized void resume() {
            paused = false;
            if (owed > 0) {
                stream.request(owed);
                owed = 0;
            }
        }

        private synchronized void consumed() {
            if (paused) {
                owed++;
            } else {
                stream.request(1);
            }
        }

        @Override
        public void onNext(GenerateResponse r) {
            consumed();
            context.run(() -> {
                if (r.getPromptLogprobsCount() > 0) {
                    listener.onPromptLogprobs(r.getPromptLogprobsList());
                }
                if (r.getTokensCount() > 0) {
                    listener.onTokens(r.getTokensList());
                }
                if (!r.getFinishReason().isEmpty() && !finished) {
                    finished = true;
                    listener.onFinish(r.getFinishReason(), r.getUsage());
                }
            });
        }

        @Override
        public void onError(Throwable t) {
            endpoint.callEnded();
            if (!finished) {
                finished = true;
                context.run(() -> listener.onError(Status.fromThrowable(t)));
            }
        }

        @Override
        public void onCompleted() {
            endpoint.callEnded();
            if (!finished) {
                finished = true;
                context.run(() -> listener.onError(Status.INTERNAL.withDescription("attention node "
                        + endpoint.target() + " ended the Generate stream without a finish reason")));
            }
        }
    }
}
