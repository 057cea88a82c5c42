package dev.afd.telemetry;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;

/**
 * The span of one request in this process. Attributes are set as the request goes; {@link #end} or {@link #fail}
 * once, when it is over (later calls are ignored by the SDK).
 *
 * <p>Thread-safe (the SDK's spans are).
 */
public final class RequestSpan {
    private final Span span;
    private final String traceparent;

    RequestSpan(Span span, String traceparent) {
        this.span = span;
        this.traceparent = traceparent;
    }

    /** The W3C traceparent naming this span, for the calls it makes; null when neither it nor its parent is traced. */
    public String traceparent() {
        return traceparent;
    }

    public RequestSpan set(String key, long value) {
        span.setAttribute(key, value);
        return this;
    }

    public RequestSpan set(String key, double value) {
        span.setAttribute(key, value);
        return this;
    }

    public RequestSpan set(String key, String value) {
        if (value != null) {
            span.setAttribute(key, value);
        }
        return this;
    }

    /** The request succeeded (or was aborted by its client): the span ends. */
    public void end() {
        span.end();
    }

    /** The request failed: the span ends with an error status saying why. */
    public void fail(String why) {
        span.setStatus(StatusCode.ERROR, why);
        span.end();
    }
}
