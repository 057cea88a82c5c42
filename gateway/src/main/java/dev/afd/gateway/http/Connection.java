package dev.afd.gateway.http;

import dev.afd.gateway.openai.ApiException;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;

/**
 * One client connection. Requests are answered one at a time, in order: a request pipelined behind another waits
 * until the first's response is complete, so responses can never interleave. When the connection closes, the
 * exchange in progress is told, so its work (a generation on an attention node) stops.
 *
 * <p>Threading: every method runs on the connection's event loop; exchanges signal completion from any thread and
 * the next request is started back on the loop.
 */
final class Connection extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final System.Logger LOG = System.getLogger(Connection.class.getName());

    private final HttpServer.Handler handler;
    private final ArrayDeque<HttpExchange> waiting = new ArrayDeque<>();
    private HttpExchange current;

    Connection(HttpServer.Handler handler) {
        this.handler = handler;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        long arrival = System.nanoTime();
        if (request.decoderResult().isFailure()) {
            HttpExchange bad = new HttpExchange(ctx.channel(), request.method(), "", request.headers(), new byte[0],
                    false, arrival, done -> {});
            bad.sendError(ApiException.badRequest(null, "malformed HTTP request: " + request.decoderResult().cause()));
            return;
        }
        String path = new QueryStringDecoder(request.uri()).path();
        HttpExchange exchange = new HttpExchange(ctx.channel(), request.method(), path, request.headers().copy(),
                ByteBufUtil.getBytes(request.content()), HttpUtil.isKeepAlive(request), arrival,
                done -> ctx.channel().eventLoop().execute(() -> {
                    handler.responded(done);
                    next();
                }));
        if (current == null) {
            dispatch(exchange);
        } else {
            waiting.add(exchange);
        }
    }

    private void dispatch(HttpExchange exchange) {
        current = exchange;
        handler.handle(exchange);
    }

    private void next() {
        current = null;
        HttpExchange e = waiting.poll();
        if (e != null) {
            dispatch(e);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (current != null) {
            current.connectionClosed();
            current = null;
        }
        waiting.clear();
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            LOG.log(Level.WARNING, "closing HTTP connection " + ctx.channel().remoteAddress() + " after an error",
                    cause);
        }
        ctx.close();
    }
}
