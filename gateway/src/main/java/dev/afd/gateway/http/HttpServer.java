package dev.afd.gateway.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP/1.1 server: keep-alive connections, requests screened on their head and handed whole to a {@link Handler},
 * responses whole or streamed as server-sent events, every client held to the {@link HttpLimits}. It knows no API
 * dialect: the handler shapes every error body, including those of the HTTP layer itself.
 *
 * <p>Ownership: runs on an event loop group the caller owns; {@link #close} stops listening and closes every
 * connection, but leaves the group running.
 */
public final class HttpServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HttpServer.class.getName());

    /** Answers requests. Called on the connection's event loop: hand slow work to another thread. */
    public interface Handler {
        /**
         * Judges a request from its head, before any of its body is read (route, method, credentials).
         *
         * @return null to read the body and {@link #handle} the request, else its answer; a refused request's body
         *     is never read, and unless it has none the connection closes after the answer
         */
        Response screen(RequestHead head);

        void handle(HttpExchange exchange);

        /** The exchange's response was sent in full (for metrics). */
        default void responded(HttpExchange exchange) {}

        /** The answer to a request the HTTP layer refuses by itself (malformed, too slow, too large, overloaded). */
        Response error(int status, String message);
    }

    private final Channel server;
    private final ChannelGroup connections;
    private final BodyBudget budget;
    private final int port;

    private HttpServer(Channel server, ChannelGroup connections, BodyBudget budget, int port) {
        this.server = server;
        this.connections = connections;
        this.budget = budget;
        this.port = port;
    }

    /** Binds {@code host:port} (0 picks a free port). */
    public static HttpServer start(String host, int port, HttpLimits limits, Handler handler, EventLoopGroup group)
            throws IOException {
        ChannelGroup connections = new DefaultChannelGroup("afd-http", GlobalEventExecutor.INSTANCE);
        BodyBudget budget = new BodyBudget(limits.maxBodyBytesInFlight());
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(HttpLimits.MAX_REQUEST_LINE)
                .setMaxHeaderSize(HttpLimits.MAX_HEADER_BYTES);
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        ReadDeadlines deadlines = new ReadDeadlines(limits);
                        ch.pipeline()
                                .addLast(deadlines)
                                .addLast(new HttpServerCodec(decoder))
                                .addLast(new Connection(handler, limits, budget, deadlines));
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
        return new HttpServer(server, connections, budget, bound);
    }

    public int port() {
        return port;
    }

    /** Bytes of request bodies held now, over every connection. */
    public long bodyBytesHeld() {
        return budget.held();
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
}
