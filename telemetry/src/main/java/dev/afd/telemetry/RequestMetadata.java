package dev.afd.telemetry;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * A request's context in gRPC metadata: {@code x-request-id} and the W3C {@code traceparent}. The client side
 * attaches a given context to a call; the server side binds the context it receives around each of the call's
 * callbacks, so the service and everything it logs on those threads see it ({@link RequestContext#current}).
 * Calls without an {@code x-request-id} (health checks, load polls) get no context.
 */
public final class RequestMetadata {
    static final Metadata.Key<String> REQUEST_ID = Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> TRACEPARENT =
            Metadata.Key.of(Tracing.TRACEPARENT, Metadata.ASCII_STRING_MARSHALLER);

    private RequestMetadata() {}

    /** An interceptor that sends {@code context} with every call made through it. */
    public static ClientInterceptor attach(RequestContext context) {
        return new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options,
                    Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                    @Override
                    public void start(Listener<R> listener, Metadata headers) {
                        headers.put(REQUEST_ID, context.requestId());
                        if (context.traceparent() != null) {
                            headers.put(TRACEPARENT, context.traceparent());
                        }
                        super.start(listener, headers);
                    }
                };
            }
        };
    }

    /** The server interceptor that binds each call's context around its callbacks. */
    public static ServerInterceptor receive() {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                String id = headers.get(REQUEST_ID);
                if (id == null) {
                    return next.startCall(call, headers);
                }
                // An id that is not safe to log is replaced, as the gateway does with X-Request-Id.
                RequestContext context = new RequestContext(RequestIds.accept(id), headers.get(TRACEPARENT));
                return new Bound<>(context.call(() -> next.startCall(call, headers)), context);
            }
        };
    }

    /** Runs every callback of a server call with the call's context bound. */
    private static final class Bound<Q> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
        private final RequestContext context;

        Bound(ServerCall.Listener<Q> delegate, RequestContext context) {
            super(delegate);
            this.context = context;
        }

        @Override
        public void onMessage(Q message) {
            context.run(() -> super.onMessage(message));
        }

        @Override
        public void onHalfClose() {
            context.run(super::onHalfClose);
        }

        @Override
        public void onCancel() {
            context.run(super::onCancel);
        }

        @Override
        public void onComplete() {
            context.run(super::onComplete);
        }

        @Override
        public void onReady() {
            context.run(super::onReady);
        }
    }
}
