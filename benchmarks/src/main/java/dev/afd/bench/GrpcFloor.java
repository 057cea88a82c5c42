package dev.afd.bench;

import com.google.protobuf.ByteString;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.ExchangeRequest;
import dev.afd.proto.ExchangeResponse;
import dev.afd.proto.FfnServiceGrpc;
import dev.afd.proto.ResultFrame;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The floor under a layer exchange: a bidirectional {@code Exchange} stream over a real loopback socket, with the
 * project's server and channel settings (handlers on the network threads, the same message size limit), whose
 * server answers each frame at once with a result of a given size. Its round trip is what an exchange costs with
 * no decoding, no compute and no queue; the exchange's overhead is compared with it.
 */
public final class GrpcFloor {
    /** Round-trip percentiles in microseconds over {@code roundTrips} frames. */
    public record Result(int requestBytes, int responseBytes, int roundTrips, double p50Micros, double p99Micros) {}

    private GrpcFloor() {}

    /** Ping-pongs {@code roundTrips} frames of {@code requestBytes} out and {@code responseBytes} back. */
    public static Result measure(int requestBytes, int responseBytes, int roundTrips)
            throws IOException, InterruptedException {
        ByteString answer = ByteString.copyFrom(new byte[responseBytes]);
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new Echo(answer)).maxInboundMessageSize(256 << 20).directExecutor().build().start();
        ManagedChannel channel = NettyChannelBuilder.forTarget("127.0.0.1:"
                        + ((InetSocketAddress) server.getListenSockets().getFirst()).getPort())
                .usePlaintext().maxInboundMessageSize(256 << 20).directExecutor().build();
        try {
            AtomicReference<CompletableFuture<ResultFrame>> pending = new AtomicReference<>();
            StreamObserver<ExchangeRequest> out = FfnServiceGrpc.newStub(channel).exchange(
                    new StreamObserver<>() {
                        @Override
                        public void onNext(ExchangeResponse r) {
                            pending.get().complete(r.getResult());
                        }

                        @Override
                        public void onError(Throwable t) {
                            pending.get().completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {}
                    });
            ExchangeRequest frame = ExchangeRequest.newBuilder().setFrame(ActivationFrame.newBuilder()
                    .setData(ByteString.copyFrom(new byte[requestBytes]))).build();
            int warmUp = Math.max(200, roundTrips / 5);
            long[] nanos = new long[roundTrips];
            for (int i = -warmUp; i < roundTrips; i++) {
                CompletableFuture<ResultFrame> f = new CompletableFuture<>();
                pending.set(f);
                long t = System.nanoTime();
                out.onNext(frame);
                f.get(10, TimeUnit.SECONDS);
                if (i >= 0) {
                    nanos[i] = System.nanoTime() - t;
                }
            }
            out.onCompleted();
            Arrays.sort(nanos);
            return new Result(requestBytes, responseBytes, roundTrips, nanos[roundTrips / 2] / 1e3,
                    nanos[Math.min(roundTrips - 1, (int) (roundTrips * 0.99))] / 1e3);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("the gRPC floor measurement failed: " + e.getMessage(), e);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** Answers every frame at once with a result of a fixed size. */
    private static final class Echo extends FfnServiceGrpc.FfnServiceImplBase {
        private final ByteString answer;

        Echo(ByteString answer) {
            this.answer = answer;
        }

        @Override
        public StreamObserver<ExchangeRequest> exchange(StreamObserver<ExchangeResponse> responses) {
            return new StreamObserver<>() {
                @Override
                public void onNext(ExchangeRequest request) {
                    responses.onNext(ExchangeResponse.newBuilder().setResult(ResultFrame.newBuilder()
                            .setId(request.getFrame().getId()).setData(answer)).build());
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {
                    responses.onCompleted();
                }
            };
        }
    }
}
