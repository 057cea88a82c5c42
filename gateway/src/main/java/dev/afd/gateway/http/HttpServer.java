package dev.afd.gateway.http;

import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.OpenAiJson;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP/1.1 server: keep-alive connections, bodies up to a size limit (larger ones get an OpenAI-shaped 413),
 * requests handed whole to a {@link Handler}, responses whole or streamed as server-sent events.
 *
 * <p>Ownership: runs on an event loop group the caller owns; {@link #close} stops listening and closes every
 * connection, but leaves the group running.
 */
public final class HttpServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HttpServer.class.getName());

    /** Answers requests. Called on the connection's event loop: hand slow work to another thread. */
    public interface Handler {
        void handle(HttpExchange exchange);

        /** The exchange's response was sent in full (for metrics). */
        default void responded(HttpExchange exchange) {}
    }

    private final Channel server;
    private final ChannelGroup connections;
    private final int port;

    private HttpServer(Channel server, ChannelGroup connections, int port) {
        this.server = server;
        this.connections = connections;
        this.port = port;
    }

    /** Binds {@code host:port} (0 picks a free port). */
    public static HttpServer start(String host, int port, int maxBodyBytes, Handler handler, EventLoopGroup group)
            throws IOException {
        ChannelGroup connections = new DefaultChannelGroup("afd-http", GlobalEventExecutor.INSTANCE);
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        ch.pipeline()
                                .addLast(new HttpServerCodec())
                                .addLast(new BodyLimit(maxBodyBytes))
                                .addLast(new Connection(handler));
                    }
                });
        Channel server;
        try {
            server = b.bind(new InetSocketAddress(host, port)).syncUninterruptibly().channel();
        } catch (Exception e) {
            throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage()
                    + "; is another process using the port?", e);
        }
        int bound = ((InetSocketAddress) server.localAddress()).getPort();
        LOG.log(Level.INFO, "gateway listening on http://" + host + ":" + bound);
        return new HttpServer(server, connections, bound);
    }

    public int port() {
        return port;
    }

    /**
     * Stops accepting connections and closes the open ones, each once what was already written to it is flushed (a
     * response completed just before must reach its client whole).
     */
    @Override
    public void close() {
        server.close().syncUninterruptibly();
        for (Channel c : connections) {
            c.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        for (Channel c : connections) {
            c.closeFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        connections.close().awaitUninterruptibly();
    }

    /** An aggregator whose over-size answer is an OpenAI error body, not an empty 413. */
    private static final class BodyLimit extends HttpObjectAggregator {
        private final int maxBodyBytes;

        BodyLimit(int maxBodyBytes) {
            super(maxBodyBytes);
            this.maxBodyBytes = maxBodyBytes;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            ApiException e = ApiException.tooLarge("the request body is larger than this server's limit of "
                    + maxBodyBytes + " bytes (--max-body-bytes)");
            byte[] json = OpenAiJson.bytes(OpenAiJson.error(e));
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, Unpooled.wrappedBuffer(json));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, json.length);
            // As Netty's own aggregator: once body bytes were taken in, the connection cannot be resynchronized.
            boolean close = oversized instanceof FullHttpMessage
                    || !HttpUtil.is100ContinueExpected(oversized) && !HttpUtil.isKeepAlive(oversized);
            HttpUtil.setKeepAlive(r, !close);
            ctx.writeAndFlush(r).addListener(close ? ChannelFutureListener.CLOSE
                    : ChannelFutureListener.CLOSE_ON_FAILURE);
        }
    }
}
