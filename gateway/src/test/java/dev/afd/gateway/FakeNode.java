package dev.afd.gateway;

import dev.afd.proto.AbortRequest;
import dev.afd.proto.AbortResponse;
import dev.afd.proto.AttentionServiceGrpc;
import dev.afd.proto.GenerateRequest;
import dev.afd.proto.GenerateResponse;
import dev.afd.proto.LoadRequest;
import dev.afd.proto.LoadResponse;
import dev.afd.proto.TokenOutput;
import dev.afd.proto.Usage;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scripted attention node on loopback for tests of routing and failures: its Load answer and its Generate
 * behaviour are set by the test; it records the requests it got and the calls that were cancelled.
 */
final class FakeNode implements AutoCloseable {
    /** What Generate does with a request. */
    @FunctionalInterface
    interface Script {
        void run(GenerateRequest request, ServerCallStreamObserver<GenerateResponse> out) throws Exception;
    }

    final String fingerprint;
    volatile LoadResponse load;
    volatile boolean failLoad;
    volatile Script script;
    final List<GenerateRequest> requests = new CopyOnWriteArrayList<>();
    final List<String> cancelled = new CopyOnWriteArrayList<>();
    final AtomicInteger loads = new AtomicInteger();
    private Server server;
    private int port;

    private FakeNode(String fingerprint) {
        this.fingerprint = fingerprint;
        this.load = load(0, true);
        this.script = tokens(65, 66, 67);
    }

    static FakeNode start(String fingerprint) throws IOException {
        FakeNode n = new FakeNode(fingerprint);
        n.listen(0);
        return n;
    }

    LoadResponse load(int waiting, boolean serving) {
        return LoadResponse.newBuilder().setWaiting(waiting).setKvBlocksFree(100).setServing(serving)
                .setModelFingerprint(fingerprint).setMaxModelLen(4096).build();
    }

    String target() {
        return "127.0.0.1:" + port;
    }

    /** Stops serving, as a node that died. */
    void stop() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Serves again on the same port, as a node that came back. */
    void restart() throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            try {
                listen(port);
                return;
            } catch (IOException e) {
                if (attempt == 50) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private void listen(int p) throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", p)).addService(new Service()).build()
                .start();
        port = ((InetSocketAddress) server.getListenSockets().getFirst()).getPort();
    }

    @Override
    public void close() {
        stop();
    }

    /** Streams {@code ids} one per message, then finishes with "length". */
    static Script tokens(int... ids) {
        return (r, out) -> {
            for (int id : ids) {
                out.onNext(token(id));
            }
            out.onNext(finish("length", r.getPromptIdsCount(), ids.length));
            out.onCompleted();
        };
    }

    /** Streams {@code ids}, then fails with {@code status}. */
    static Script tokensThenError(Status status, int... ids) {
        return (r, out) -> {
            for (int id : ids) {
                out.onNext(token(id));
            }
            out.onError(status.asRuntimeException());
        };
    }

    /** Streams {@code ids} and then nothing more, until the call is cancelled. */
    static Script tokensThenHang(int... ids) {
        return (r, out) -> {
            for (int id : ids) {
                out.onNext(token(id));
            }
        };
    }

    static GenerateResponse token(int id) {
        return GenerateResponse.newBuilder().addTokens(TokenOutput.newBuilder().setTokenId(id).setLogprob(-1f))
                .build();
    }

    static GenerateResponse finish(String reason, int prompt, int completion) {
        return GenerateResponse.newBuilder().setFinishReason(reason)
                .setUsage(Usage.newBuilder().setPromptTokens(prompt).setCompletionTokens(completion)).build();
    }

    private final class Service extends AttentionServiceGrpc.AttentionServiceImplBase {
        @Override
        public void generate(GenerateRequest request, StreamObserver<GenerateResponse> observer) {
            ServerCallStreamObserver<GenerateResponse> out = (ServerCallStreamObserver<GenerateResponse>) observer;
            requests.add(request);
            out.setOnCancelHandler(() -> cancelled.add(request.getRequestId()));
            try {
                script.run(request, out);
            } catch (Exception e) {
                out.onError(Status.INTERNAL.withDescription("fake node script failed: " + e).asRuntimeException());
            }
        }

        @Override
        public void abort(AbortRequest request, StreamObserver<AbortResponse> observer) {
            observer.onNext(AbortResponse.getDefaultInstance());
            observer.onCompleted();
        }

        @Override
        public void load(LoadRequest request, StreamObserver<LoadResponse> observer) {
            loads.incrementAndGet();
            if (failLoad) {
                observer.onError(Status.UNAVAILABLE.withDescription("health check failing").asRuntimeException());
                return;
            }
            observer.onNext(load);
            observer.onCompleted();
        }
    }
}
