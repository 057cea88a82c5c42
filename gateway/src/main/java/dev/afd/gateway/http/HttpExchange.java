package dev.afd.gateway.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.telemetry.RequestIds;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One HTTP request and its response, answered whole ({@link #send}) or as server-sent events ({@link #startEvents},
 * {@link #sendEvent}, {@link #endEvents}).
 *
 * <p>Threading: any thread may respond. Every write is queued to the connection's event loop as a task, so writes
 * leave in the order they were made even when some come from the event loop itself (a direct write there would
 * overtake writes still queued). Callers serialize their own writes (one request, one writer at a time). Close
 * callbacks and writability changes are reported on the event loop.
 *
 * <p>Every response, errors and event streams included, carries the request's id in {@code X-Request-Id}: the
 * client's own when it sent a valid one ({@link RequestIds#accept}), else a fresh one.
 *
 * <p>An HTTP/1.0 client gets its event stream without chunked encoding, ended by closing the connection (it cannot
 * read chunks).
 */
public final class HttpExchange {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Channel channel;
    private final RequestHead head;
    private final HttpVersion version;
    private final String requestId;
    private volatile byte[] body;
    private final BodyBudget budget;
    private final AtomicLong heldBodyBytes;
    /** Guarded by this: false once the response must end the connection. */
    private boolean keepAlive;
    private final long arrivalNanos;
    private final Consumer<HttpExchange> onComplete;
    private final Response refusal;
    private final List<Runnable> closeListeners = new ArrayList<>();
    private volatile Consumer<Boolean> writabilityListener;
    /** Guarded by this: set once the last byte of the response is queued, or the client is gone. */
    private boolean finished;
    private boolean eventsStarted;
    private boolean clientGone;
    private volatile int status;

    /**
     * @param head the request, or null for a request refused before its head could be read
     * @param requestId the request's id ({@link RequestIds#accept})
     * @param heldBodyBytes what the body holds of the server's body budget, until {@link #releaseBody}
     * @param refusal the answer decided from the head, or null for a request its handler answers
     */
    HttpExchange(Channel channel, RequestHead head, String requestId, HttpVersion version, byte[] body,
            boolean keepAlive,
            long arrivalNanos, BodyBudget budget, long heldBodyBytes, Consumer<HttpExchange> onComplete,
            Response refusal) {
        this.budget = budget;
        this.channel = channel;
        this.head = head;
        this.version = version;
        this.requestId = requestId;
        this.body = body;
        this.keepAlive = keepAlive;
        this.arrivalNanos = arrivalNanos;
        this.heldBodyBytes = new AtomicLong(heldBodyBytes);
        this.onComplete = onComplete;
        this.refusal = refusal;
    }

    public HttpMethod method() {
        return head == null ? HttpMethod.GET : head.method();
    }

    /** The path without the query string. */
    public String path() {
        return head == null ? "" : head.path();
    }

    public HttpHeaders headers() {
        return head.headers();
    }

    /** The request's id, sent back in {@code X-Request-Id}. */
    public String requestId() {
        return requestId;
    }

    /**
     * The request body.
     *
     * @throws IllegalStateException after {@link #releaseBody}
     */
    public byte[] body() {
        byte[] b = body;
        if (b == null) {
            throw new IllegalStateException("the request body was released after it was parsed");
        }
        return b;
    }

    /** The handler is done with the body: its memory goes back to the server's body budget. */
    public void releaseBody() {
        body = null;
        long held = heldBodyBytes.getAndSet(0);
        if (held > 0) {
            budget.release(held);
        }
    }

    /** {@link System#nanoTime()} when the request had fully arrived. */
    public long arrivalNanos() {
        return arrivalNanos;
    }

    /** The status sent, 0 before. */
    public int status() {
        return status;
    }

    public void sendJson(int status, JsonNode json) {
        send(status, "application/json", json(json), Map.of());
    }

    public void send(Response r) {
        send(r.status(), r.contentType(), r.body(), r.headers());
    }

    /** The answer decided from the request's head, or null when its handler answers it. */
    Response refusal() {
        return refusal;
    }

    /** Sends a whole response; ignored when the client is gone or a response was already sent. */
    public void send(int status, String contentType, byte[] content, Map<String, String> extraHeaders) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(content));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.length);
        extraHeaders.forEach((k, v) -> r.headers().set(k, v));
        r.headers().set(RequestIds.HEADER, requestId);
        synchronized (this) {
            if (finished || eventsStarted) {
                return;
            }
            finished = true;
            this.status = status;
            HttpUtil.setKeepAlive(r, keepAlive);
            writeLast(r);
        }
    }

    /** Sends the head of a 200 event stream. */
    public synchronized void startEvents() {
        if (finished || eventsStarted) {
            return;
        }
        eventsStarted = true;
        status = 200;
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
        r.headers().set(RequestIds.HEADER, requestId);
        if (version.equals(HttpVersion.HTTP_1_0)) {
            keepAlive = false; // no chunks for HTTP/1.0: the stream ends when the connection does
        } else {
            HttpUtil.setTransferEncodingChunked(r, true);
        }
        HttpUtil.setKeepAlive(r, keepAlive);
        write(r);
    }

    public synchronized boolean eventsStarted() {
        return eventsStarted;
    }

    /** Sends {@code data: <json>} as one event. */
    public synchronized void sendEvent(JsonNode json) {
        if (finished || !eventsStarted) {
            return;
        }
        byte[] payload = json(json);
        ByteBuf buf = Unpooled.buffer(DATA.length + payload.length + EVENT_END.length);
        buf.writeBytes(DATA).writeBytes(payload).writeBytes(EVENT_END);
        write(new DefaultHttpContent(buf));
    }

    /** Sends {@code data: [DONE]} and ends the response. */
    public synchronized void endEvents() {
        if (finished || !eventsStarted) {
            return;
        }
        finished = true;
        writeLast(new DefaultHttpContent(Unpooled.wrappedBuffer(DONE)));
    }

    /** Whether the connection takes more output now without queueing it in memory. */
    public boolean writable() {
        return channel.isWritable();
    }

    /**
     * Tells {@code listener} (on the event loop) each time the connection stops or starts taking output: a client
     * that does not read fills the socket, then Netty's outbound buffer, past its high-water mark.
     */
    public void onWritabilityChange(Consumer<Boolean> listener) {
        writabilityListener = listener;
    }

    void writabilityChanged(boolean writable) {
        Consumer<Boolean> l = writabilityListener;
        if (l != null) {
            l.accept(writable);
        }
    }

    /** Runs {@code task} on the connection's event loop after {@code delay}. */
    public Future<?> schedule(Runnable task, Duration delay) {
        return channel.eventLoop().schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Gives up on the client: the connection closes now, dropping output it has not read. */
    public void abandon() {
        channel.close();
    }

    /**
     * Runs {@code listener} if the client goes away before the response is complete (at once if it already has). The
     * caller uses it to stop work nobody will read.
     */
    public void onClientGone(Runnable listener) {
        boolean gone;
        synchronized (this) {
            gone = clientGone;
            if (!gone && !finished) {
                closeListeners.add(listener);
            }
        }
        if (gone) {
            listener.run();
        }
    }

    /** The connection closed: a response still in progress will never be read. */
    void connectionClosed() {
        List<Runnable> listeners;
        synchronized (this) {
            if (finished) {
                return;
            }
            finished = true;
            clientGone = true;
            listeners = List.copyOf(closeListeners);
        }
        listeners.forEach(Runnable::run);
    }

    private void write(Object message) {
        channel.eventLoop().execute(() -> channel.writeAndFlush(message));
    }

    /** Writes the response's last part; then the connection serves its next request, or closes. */
    private void writeLast(Object message) {
        channel.eventLoop().execute(() -> {
            if (message instanceof DefaultHttpContent) {
                channel.write(message);
                channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(afterLast());
            } else {
                channel.writeAndFlush(message).addListener(afterLast());
            }
        });
        onComplete.accept(this);
    }

    private ChannelFutureListener afterLast() {
        boolean close = !keepAlive;
        return f -> {
            if (close || !f.isSuccess()) {
                f.channel().close();
            }
        };
    }

    private static byte[] json(JsonNode n) {
        try {
            return JSON.writeValueAsBytes(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a response tree could not be written as JSON", e);
        }
    }
}
