package dev.afd.bench.serve;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * The cheapest OpenAI-compatible server there is: every completion is the same canned one-token stream, written
 * at once from one event-loop thread. It exists to measure the load generator, so it must cost far less per request
 * than the generator does. It also answers {@code GET /health} (200) and {@code GET /v1/models}. Run alone:
 * {@code java -cp ... dev.afd.bench.serve.TrivialSseServer PORT}.
 */
final class TrivialSseServer implements AutoCloseable {
    private static final byte[] STREAM = ("data: {\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"a\","
            + "\"finish_reason\":\"length\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":8,"
            + "\"completion_tokens\":1,\"total_tokens\":9}}\n\ndata: [DONE]\n\n").getBytes(StandardCharsets.UTF_8);
    private static final byte[] MODELS = "{\"object\":\"list\",\"data\":[{\"id\":\"trivial\"}]}"
            .getBytes(StandardCharsets.UTF_8);

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel channel;

    TrivialSseServer(int port) throws InterruptedException {
        channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new Answer());
                    }
                }).bind("127.0.0.1", port).sync().channel();
    }

    URI baseUrl() {
        return URI.create("http://127.0.0.1:" + ((InetSocketAddress) channel.localAddress()).getPort());
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final class Answer extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            boolean models = request.uri().startsWith("/v1/models");
            boolean health = request.uri().startsWith("/health");
            ByteBuf body = health ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(models ? MODELS : STREAM);
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, models ? "application/json" : "text/event-stream");
            HttpUtil.setContentLength(response, body.readableBytes());
            HttpUtil.setKeepAlive(response, HttpUtil.isKeepAlive(request));
            ctx.writeAndFlush(response);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            System.err.println("trivial server: closing a connection after " + cause);
            ctx.close();
        }
    }

    public static void main(String[] args) throws InterruptedException {
        TrivialSseServer server = new TrivialSseServer(Integer.parseInt(args[0]));
        System.out.println("trivial OpenAI server on " + server.baseUrl());
        server.channel.closeFuture().sync();
    }
}
