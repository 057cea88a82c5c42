package dev.afd.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.OpenAiJson;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One HTTP request and its response, answered whole ({@link #send}) or as server-sent events ({@link #startEvents},
 * {@link #sendEvent}, {@link #endEvents}).
 *
 * <p>Threading: any thread may respond. Every write is queued to the connection's event loop as a task, so writes
 * leave in the order they were made even when some come from the event loop itself (a direct write there would
 * overtake writes still queued). Callers serialize their own writes (one request, one writer at a time). Close
 * callbacks run on the event loop.
 */
public final class HttpExchange {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final Channel channel;
    private final HttpMethod method;
    private final String path;
    private final HttpHeaders headers;
    private final byte[] body;
    private final boolean keepAlive;
    private final long arrivalNanos;
    private final Consumer<HttpExchange> onComplete;
    private final List<Runnable> closeListeners = new ArrayList<>();
    /** Guarded by this: set once the last byte of the response is queued, or the client is gone. */
    private boolean finished;
    private boolean eventsStarted;
    private boolean clientGone;
    private volatile int status;

    HttpExchange(Channel channel, HttpMethod method, String path, HttpHeaders headers, byte[] body, boolean keepAlive,
            long arrivalNanos, Consumer<HttpExchange> onComplete) {
        this.channel = channel;
        this.method = method;
        this.path = path;
        this.headers = headers;
        this.body = body;
        this.keepAlive = keepAlive;
        this.arrivalNanos = arrivalNanos;
        this.onComplete = onComplete;
    }

    public HttpMethod method() {
        return method;
    }

    /** The path without the query string. */
    public String path() {
        return path;
    }

    public HttpHeaders headers() {
        return headers;
    }

    public byte[] body() {
        return body;
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
        send(status, "application/json", OpenAiJson.bytes(json), Map.of());
    }

    public void sendError(ApiException e) {
        send(e.status(), "application/json", OpenAiJson.bytes(OpenAiJson.error(e)), e.retryAfterSeconds() == null
                ? Map.of() : Map.of("Retry-After", e.retryAfterSeconds().toString()));
    }

    /** Sends a whole response; ignored when the client is gone or a response was already sent. */
    public void send(int status, String contentType, byte[] content, Map<String, String> extraHeaders) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(content));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.length);
        extraHeaders.forEach((k, v) -> r.headers().set(k, v));
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
        HttpUtil.setTransferEncodingChunked(r, true);
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
        byte[] payload = OpenAiJson.bytes(json);
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

    /** Whether the response is complete or the client has gone. */
    public synchronized boolean finished() {
        return finished;
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
        return f -> {
            if (!keepAlive || !f.isSuccess()) {
                f.channel().close();
            }
        };
    }
}
