package dev.afd.gateway.routing;

import dev.afd.proto.GenerateRequest;
import dev.afd.proto.GenerateResponse;
import io.grpc.ClientCall;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;

/**
 * One Generate call in flight on an attention node. Cancelling it cancels the gRPC call, which aborts the request on
 * the node and frees its KV blocks there.
 *
 * <p>Thread-safe: {@link #cancel} may be called from any thread, any number of times.
 */
public final class GenerateCall {
    private final ClientCall<GenerateRequest, GenerateResponse> call;
    private final AttentionEndpoint endpoint;

    private GenerateCall(ClientCall<GenerateRequest, GenerateResponse> call, AttentionEndpoint endpoint) {
        this.call = call;
        this.endpoint = endpoint;
    }

    static GenerateCall start(ClientCall<GenerateRequest, GenerateResponse> call, AttentionEndpoint endpoint,
            GenerateRequest request, GenerateListener listener) {
        ClientCalls.asyncServerStreamingCall(call, request, new Observer(endpoint, listener));
        return new GenerateCall(call, endpoint);
    }

    /** The node serving the call. */
    public AttentionEndpoint endpoint() {
        return endpoint;
    }

    /** Stops the call; the listener then gets {@code onError(CANCELLED)} unless it already finished. */
    public void cancel(String why) {
        call.cancel(why, null);
    }

    /** Adapts the stream to the listener: tokens as they come, the finish as soon as its message arrives. */
    private static final class Observer implements StreamObserver<GenerateResponse> {
        private final AttentionEndpoint endpoint;
        private final GenerateListener listener;
        private boolean finished;

        Observer(AttentionEndpoint endpoint, GenerateListener listener) {
            this.endpoint = endpoint;
            this.listener = listener;
        }

        @Override
        public void onNext(GenerateResponse r) {
            if (r.getTokensCount() > 0) {
                listener.onTokens(r.getTokensList());
            }
            if (!r.getFinishReason().isEmpty() && !finished) {
                finished = true;
                listener.onFinish(r.getFinishReason(), r.getUsage());
            }
        }

        @Override
        public void onError(Throwable t) {
            endpoint.callEnded();
            if (!finished) {
                finished = true;
                listener.onError(Status.fromThrowable(t));
            }
        }

        @Override
        public void onCompleted() {
            endpoint.callEnded();
            if (!finished) {
                finished = true;
                listener.onError(Status.INTERNAL.withDescription("attention node " + endpoint.target()
                        + " ended the Generate stream without a finish reason"));
            }
        }
    }
}
