package dev.afd.ffn;

import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * An ffn-node server's own network threads: native epoll where the platform has it, NIO elsewhere. Frames are
 * computed on these threads (see {@link FfnServer}), so they must not be the process-wide ones gRPC shares by
 * default: a long or wedged computation would then stall unrelated channels of the same process (an attention
 * node's own links, in a test or a benchmark that runs both sides in one JVM).
 *
 * <p>Ownership: created by the server and shut down by it after the gRPC server has terminated.
 */
record NetworkThreads(EventLoopGroup boss, EventLoopGroup workers, Class<? extends ServerChannel> channelType,
        String transport) {
    /** One acceptor, and {@code workers} threads serving (and computing for) the connections. */
    static NetworkThreads start(int workers) {
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new NetworkThreads(
                new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("ffn-accept", true), io),
                new MultiThreadIoEventLoopGroup(workers, new DefaultThreadFactory("ffn-network", true), io),
                epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class,
                epoll ? "epoll" : "nio");
    }

    NettyServerBuilder applyTo(NettyServerBuilder builder) {
        return builder.bossEventLoopGroup(boss).workerEventLoopGroup(workers).channelType(channelType);
    }

    /** Stops the threads once the server they served has terminated. */
    void shutdown() {
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
