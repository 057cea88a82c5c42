package dev.afd.gateway.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Times a connection's reads: a request's headers must arrive within the header timeout of its first byte, its
 * body within the body timeout of its headers, and a keep-alive connection with nothing in progress may stay idle
 * for the idle timeout. A request being answered stops none of these from running for the next one, except the idle
 * timeout: a client waiting for a long answer sends nothing and must not be cut off.
 *
 * <p>Sits before the HTTP decoder, where it sees raw bytes; {@link Connection} tells it when a head or a whole request
 * was decoded and when it is answering. Threading: every method runs on the connection's event loop.
 */
final class ReadDeadlines extends ChannelInboundHandlerAdapter {
    /** What the connection is waiting for from its client. */
    private enum Reading {
        /** The next request, none of whose bytes have arrived. */
        NEXT_REQUEST,
        HEADERS,
        BODY
    }

    /** Told when a deadline passes: {@code kind} names what did not arrive in time, or is null for an idle close. */
    interface Expiry {
        void expired(String kind, Duration limit);
    }

    private final HttpLimits limits;
    private Expiry expiry;
    private ChannelHandlerContext ctx;
    private Reading reading = Reading.NEXT_REQUEST;
    private boolean answering;
    private long since;
    private ScheduledFuture<?> timer;

    ReadDeadlines(HttpLimits limits) {
        this.limits = limits;
    }

    void onExpiry(Expiry e) {
        this.expiry = e;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext context) {
        this.ctx = context;
        since = System.nanoTime();
        rearm();
    }

    @Override
    public void channelRead(ChannelHandlerContext context, Object msg) {
        if (reading == Reading.NEXT_REQUEST && msg instanceof ByteBuf b && b.isReadable()) {
            reading = Reading.HEADERS;
            since = System.nanoTime();
            rearm();
        }
        context.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext context) {
        cancel();
        context.fireChannelInactive();
    }

    /** A request's headers were decoded: its body is due. */
    void headRead() {
        reading = Reading.BODY;
        since = System.nanoTime();
        rearm();
    }

    /** A whole request was decoded: the next one may come at the client's leisure. */
    void requestRead() {
        reading = Reading.NEXT_REQUEST;
        since = System.nanoTime();
        rearm();
    }

    /** Whether a response is in progress (while it is, the connection is not idle). */
    void answering(boolean now) {
        if (answering != now) {
            answering = now;
            if (!now && reading == Reading.NEXT_REQUEST) {
                since = System.nanoTime();
            }
            rearm();
        }
    }

    /** No more deadlines: the connection is closing. */
    void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void rearm() {
        cancel();
        Duration limit = switch (reading) {
            case NEXT_REQUEST -> answering ? null : limits.idleTimeout();
            case HEADERS -> limits.headerTimeout();
            case BODY -> limits.bodyTimeout();
        };
        if (limit == null || ctx == null) {
            return;
        }
        long delay = since + limit.toNanos() - System.nanoTime();
        Reading at = reading;
        timer = ctx.executor().schedule(() -> {
            timer = null;
            if (expiry != null) {
                expiry.expired(at == Reading.NEXT_REQUEST ? null : at == Reading.HEADERS ? "headers" : "body", limit);
            }
        }, Math.max(0, delay), TimeUnit.NANOSECONDS);
    }
}
