package dev.afd.telemetry;

import java.util.function.Supplier;

/**
 * What follows one request through a process and on to the next: its request id and, when it is traced, the W3C
 * {@code traceparent} of the span that work done for it descends from. Log lines written while a context is bound
 * carry its request id.
 *
 * <p>Threading rule: a context is bound with {@link #run} or {@link #call} for the dynamic extent of that call, on
 * that thread only (a {@link ScopedValue}: nothing leaks into the next task a pooled thread runs). It is not
 * inherited: code that hands work for a request to another thread (an executor, a Netty event loop, a gRPC callback,
 * the engine thread) keeps the context with the work and binds it again there. The context is immutable; a process
 * that starts its own span binds a copy {@link #withTraceparent with} that span's traceparent.
 *
 * @param requestId a valid request id ({@link RequestIds#valid})
 * @param traceparent the W3C traceparent of the parent span, or null when the request is not traced
 */
public record RequestContext(String requestId, String traceparent) {
    private static final ScopedValue<RequestContext> CURRENT = ScopedValue.newInstance();

    public RequestContext {
        if (!RequestIds.valid(requestId)) {
            throw new IllegalArgumentException("not a valid request id: use RequestIds.accept to check one first");
        }
    }

    /** A context for {@code requestId} with no trace. */
    public static RequestContext of(String requestId) {
        return new RequestContext(requestId, null);
    }

    /** The context bound on this thread, or null outside of any request. */
    public static RequestContext current() {
        return CURRENT.isBound() ? CURRENT.get() : null;
    }

    /** This request with {@code parent} as the span its further work descends from. */
    public RequestContext withTraceparent(String parent) {
        return new RequestContext(requestId, parent);
    }

    /** Runs {@code task} with this context bound. */
    public void run(Runnable task) {
        ScopedValue.where(CURRENT, this).run(task);
    }

    /** Computes {@code task} with this context bound. */
    public <T> T call(Supplier<T> task) {
        return ScopedValue.where(CURRENT, this).call(task::get);
    }
}
