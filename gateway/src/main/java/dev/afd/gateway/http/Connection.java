package dev.afd.gateway.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import dev.afd.telemetry.RequestIds;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * One client connection. A request is judged on its head before any of its body is read ({@link
 * HttpServer.Handler#screen}: route, method, API key), so a refused client costs no body memory; a refused request is
 * answered and the connection closed without reading further. Bodies are read into memory reserved from the server's
 * {@link BodyBudget}. Requests are answered one at a time, in order: a request pipelined behind another waits until
 * the first's response is complete, so responses never interleave, and past {@value #MAX_QUEUED} waiting requests the
 * connection stops reading. When the connection closes, the exchange in progress is told, so its work (a generation
 * on an attention node) stops.
 *
 * <p>Threading: every method runs on the connection's event loop; exchanges signal completion from any thread and the
 * next request is started back on the loop.
 */
final class Connection extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(Connection.class.getName());
    /** Complete requests a connection may queue behind the one being answered before it stops reading. */
    static final int MAX_QUEUED = 8;

    private final HttpServer.Handler handler;
    private final HttpLimits limits;
    private final BodyBudget budget;
    private final ReadDeadlines deadlines;
    private final ArrayDeque<HttpExchange> waiting = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private HttpExchange current;
    /** The request whose body is being read, or null. */
    private BodyReader reading;
    /** The request in progress was answered from its head and had no body: its end marker is skipped. */
    private boolean skippingEnd;
    /** A request was refused: nothing more is read, and the connection closes once the refusal is sent. */
    private boolean refused;

    Connection(HttpServer.Handler handler, HttpLimits limits, BodyBudget budget, ReadDeadlines deadlines) {
        this.handler = handler;
        this.limits = limits;
        this.budget = budget;
        this.deadlines = deadlines;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext context) {
        this.ctx = context;
        deadlines.onExpiry(this::expired);
    }

    @Override
    public void channelRead(ChannelHandlerContext context, Object msg) {
        try {
            if (refused) {
                return;
            }
            if (msg instanceof HttpRequest head) {
                onHead(head);
            }
            if (!refused && msg instanceof HttpContent content) {
                onContent(content);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onHead(HttpRequest head) {
        long arrival = System.nanoTime();
        deadlines.headRead();
        String requestId = RequestIds.accept(head.headers().get(RequestIds.HEADER));
        if (head.decoderResult().isFailure()) {
            refuse(malformed(head.decoderResult().cause()), arrival, requestId);
            return;
        }
        String path;
        try {
            path = new QueryStringDecoder(head.uri()).path();
        } catch (IllegalArgumentException e) {
            refuse(handler.error(400, "the request path is not valid: it has a malformed percent-escape"), arrival,
                    requestId);
            return;
        }
        RequestHead request = new RequestHead(head.method(), path, head.headers());
        boolean chunked = HttpUtil.isTransferEncodingChunked(head);
        long declared = HttpUtil.getContentLength(head, -1L);
        Response screened = handler.screen(request);
        if (screened != null) {
            if (chunked || declared > 0) {
                refuse(screened, arrival, requestId);
            } else {
                // Nothing to skip: answer it in turn and keep the connection.
                skippingEnd = true;
                enqueue(new HttpExchange(ctx.channel(), request, requestId, head.protocolVersion(), new byte[0],
                        HttpUtil.isKeepAlive(head), arrival, budget, 0, this::completed, screened));
            }
            return;
        }
        if (declared > limits.maxBodyBytes()) {
            refuse(tooLarge(), arrival, requestId);
            return;
        }
        long reserve = Math.max(0, declared);
        if (!budget.tryReserve(reserve)) {
            refuse(busy(), arrival, requestId);
            return;
        }
        reading = new BodyReader(request, requestId, head.protocolVersion(), HttpUtil.isKeepAlive(head), arrival,
                reserve);
        if (HttpUtil.is100ContinueExpected(head) && current == null) {
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                    Unpooled.EMPTY_BUFFER));
        }
    }

    private void onContent(HttpContent content) {
        if (content.decoderResult().isFailure()) {
            refuse(malformed(content.decoderResult().cause()), System.nanoTime(),
                    reading != null ? reading.requestId : RequestIds.generate());
            return;
        }
        boolean last = content instanceof LastHttpContent;
        if (reading == null) {
            if (last && skippingEnd) {
                skippingEnd = false;
                deadlines.requestRead();
            }
            return;
        }
        ByteBuf bytes = content.content();
        long size = (long) reading.size + bytes.readableBytes();
        if (size > limits.maxBodyBytes()) {
            refuse(tooLarge(), reading.arrival, reading.requestId);
            return;
        }
        if (size > reading.buffer.length) {
            // Chunked bodies grow by doubling, reserving the whole new capacity: what is held is what is counted.
            int capacity = (int) Math.min(limits.maxBodyBytes(), Math.max(size, Math.max(4096L,
                    2L * reading.buffer.length)));
            if (capacity > reading.reserved && !budget.tryReserve(capacity - reading.reserved)) {
                refuse(busy(), reading.arrival, reading.requestId);
                return;
            }
            reading.reserved = Math.max(reading.reserved, capacity);
            reading.buffer = Arrays.copyOf(reading.buffer, capacity);
        }
        reading.append(bytes);
        if (last) {
            deadlines.requestRead();
            BodyReader r = reading;
            reading = null;
            enqueue(new HttpExchange(ctx.channel(), r.head, r.requestId, r.version, r.body(), r.keepAlive,
                    r.arrival, budget, r.reserved, this::completed, null));
        }
    }

    /** Answers {@code response} in turn, then closes; nothing after this request is read. */
    private void refuse(Response response, long arrival, String requestId) {
        refused = true;
        if (reading != null) {
            budget.release(reading.reserved);
            reading = null;
        }
        enqueue(new HttpExchange(ctx.channel(), null, requestId, HttpVersion.HTTP_1_1, new byte[0], false,
                arrival, budget, 0, this::completed, response));
    }

    private void enqueue(HttpExchange exchange) {
        if (current == null) {
            dispatch(exchange);
            return;
        }
        waiting.add(exchange);
        if (waiting.size() >= MAX_QUEUED) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void dispatch(HttpExchange exchange) {
        current = exchange;
        deadlines.answering(true);
        if (exchange.refusal() != null) {
            exchange.send(exchange.refusal());
        } else {
            handler.handle(exchange);
        }
    }

    /** Called from any thread once an exchange's last byte is queued. */
    private void completed(HttpExchange done) {
        ctx.channel().eventLoop().execute(() -> {
            done.releaseBody();
            handler.responded(done);
            if (current != done) {
                return; // the connection closed meanwhile
            }
            current = null;
            HttpExchange next = waiting.poll();
            if (next != null) {
                dispatch(next);
            } else {
                deadlines.answering(false);
            }
            if (!refused && waiting.size() < MAX_QUEUED && !ctx.channel().config().isAutoRead()) {
                ctx.channel().config().setAutoRead(true);
            }
        });
    }

    /** A read deadline passed: an idle connection closes quietly, a slow request is answered 408. */
    private void expired(String what, Duration limit) {
        if (what == null || current != null || refused) {
            // Idle, or a response is in progress (a 408 cannot be put in the middle of it): close.
            ctx.close();
            return;
        }
        refuse(handler.error(408, "the request's " + what + " did not arrive within " + limit.toSeconds()
                + " s; send requests without pausing (the limit is the gateway's --" + what + "-timeout-s)"),
                System.nanoTime(), reading != null ? reading.requestId : RequestIds.generate());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext context) {
        if (current != null) {
            current.writabilityChanged(context.channel().isWritable());
        }
        context.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext context) {
        deadlines.cancel();
        if (reading != null) {
            budget.release(reading.reserved);
            reading = null;
        }
        if (current != null) {
            current.connectionClosed();
            current.releaseBody();
            current = null;
        }
        for (HttpExchange e : waiting) {
            e.releaseBody();
        }
        waiting.clear();
        context.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
        if (cause instanceof IOException) {
            // A client that resets or drops its connection: routine, not worth a stack trace.
            LOG.log(Level.DEBUG, "HTTP connection " + context.channel().remoteAddress() + " failed: "
                    + cause.getMessage());
        } else {
            LOG.log(Level.WARNING, "closing HTTP connection " + context.channel().remoteAddress() + " after an"
                    + " error", cause);
        }
        context.close();
    }

    private Response malformed(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            return handler.error(414, "the request line is longer than " + HttpLimits.MAX_REQUEST_LINE
                    + " bytes; use a shorter URL");
        }
        if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
            return handler.error(431, "the request's headers are larger than " + HttpLimits.MAX_HEADER_BYTES
                    + " bytes");
        }
        String detail = cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage();
        return handler.error(400, "malformed HTTP request" + detail);
    }

    private Response tooLarge() {
        return handler.error(413, "the request body is larger than this server's limit of " + limits.maxBodyBytes()
                + " bytes (--max-body-bytes)");
    }

    private Response busy() {
        return handler.error(503, "the gateway is holding its limit of " + budget.limit() + " bytes of request"
                + " bodies (--max-body-bytes-in-flight); retry shortly");
    }

    /** A request's body as it arrives, in memory reserved from the budget. */
    private static final class BodyReader {
        final RequestHead head;
        final String requestId;
        final HttpVersion version;
        final boolean keepAlive;
        final long arrival;
        /** Budget held: the buffer's capacity. */
        long reserved;
        byte[] buffer;
        int size;

        /** @param reserved the declared length, reserved and allocated at once (0 when unknown) */
        BodyReader(RequestHead head, String requestId, HttpVersion version, boolean keepAlive, long arrival,
                long reserved) {
            this.head = head;
            this.requestId = requestId;
            this.version = version;
            this.keepAlive = keepAlive;
            this.arrival = arrival;
            this.reserved = reserved;
            this.buffer = new byte[(int) reserved];
        }

        void append(ByteBuf bytes) {
            int n = bytes.readableBytes();
            bytes.readBytes(buffer, size, n);
            size += n;
        }

        byte[] body() {
            return size == buffer.length ? buffer : Arrays.copyOf(buffer, size);
        }
    }
}
