package dev.afd.ffn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.core.ExpertSet;
import dev.afd.ffn.core.FfnBackend;
import dev.afd.ffn.core.FrameProcessor;
import dev.afd.ffn.core.TinyModel;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.ExchangeRequest;
import dev.afd.proto.ExchangeResponse;
import dev.afd.proto.FfnServiceGrpc;
import dev.afd.proto.Handshake;
import dev.afd.proto.HandshakeAccepted;
import dev.afd.proto.ResultFrame;
import dev.afd.proto.WireDtype;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real server on a loopback port and real Exchange streams against it. */
class FfnServerTest {
    private static final long TIMEOUT_S = 10;

    @TempDir
    static Path dir;

    static TinyModel tiny;
    static CpuFfnBackend backend;
    static FfnServer server;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        tiny = new TinyModel(dir);
        backend = tiny.backend(new ExpertRange(0, 3));
        server = FfnServer.start("127.0.0.1", 0, tiny.config, backend, "tiny");
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow().awaitTermination(TIMEOUT_S, TimeUnit.SECONDS);
        server.close();
        tiny.close();
    }

    /** The client end of one Exchange stream: what came back, and how the stream ended. */
    static final class Stream implements StreamObserver<ExchangeResponse> {
        final BlockingQueue<ExchangeResponse> responses = new LinkedBlockingQueue<>();
        final CompletableFuture<Status> end = new CompletableFuture<>();
        final StreamObserver<ExchangeRequest> requests;

        Stream() {
            this(channel);
        }

        Stream(ManagedChannel to) {
            requests = FfnServiceGrpc.newStub(to).exchange(this);
        }

        @Override
        public void onNext(ExchangeResponse r) {
            responses.add(r);
        }

        @Override
        public void onError(Throwable t) {
            end.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            end.complete(Status.OK);
        }

        ExchangeResponse next() throws InterruptedException {
            ExchangeResponse r = responses.poll(TIMEOUT_S, TimeUnit.SECONDS);
            assertThat(r).as("a response within %d s", TIMEOUT_S).isNotNull();
            return r;
        }

        Status awaitEnd() throws Exception {
            return end.get(TIMEOUT_S, TimeUnit.SECONDS);
        }

        void send(ActivationFrame f) {
            requests.onNext(ExchangeRequest.newBuilder().setFrame(f).build());
        }

        void send(Handshake h) {
            requests.onNext(ExchangeRequest.newBuilder().setHandshake(h).build());
        }
    }

    private static Handshake handshake(String fingerprint) {
        return Handshake.newBuilder().setModelFingerprint(fingerprint).setRequestDtype(WireDtype.WIRE_FP8_E4M3)
                .setResponseDtype(WireDtype.WIRE_BF16).setClient("attention 127.0.0.1:5").build();
    }

    @Test
    void pipelinedFramesGetTheResultsOfTheFrameProcessor() throws Exception {
        Stream s = new Stream();
        s.send(handshake(tiny.config.fingerprint()));
        HandshakeAccepted accepted = s.next().getAccepted();
        assertThat(accepted.getNode()).isEqualTo("ffn 127.0.0.1:" + server.port()).isEqualTo(server.node());
        assertThat(accepted.getBackend()).isEqualTo("cpu").isEqualTo(server.backendName());
        assertThat(accepted.getExpertsList()).containsExactly(0, 1, 2, 3);

        // More frames than the server lets in flight, all sent before reading any result; one of them is bad.
        Random random = new Random(12);
        WireDtype[] dtypes = {WireDtype.WIRE_FP8_E4M3, WireDtype.WIRE_BF16, WireDtype.WIRE_F32};
        List<ActivationFrame> frames = new ArrayList<>();
        for (int i = 0; i < 3 * FfnService.MAX_FRAMES_IN_FLIGHT; i++) {
            ActivationFrame f = tiny.frame(100 + i, i % tiny.config.numLayers(),
                    1 + random.nextInt(20), dtypes[i % 3], random);
            frames.add(i == 5 ? f.toBuilder().setHidden(7).build() : f);
        }
        frames.forEach(s::send);

        FrameProcessor direct = new FrameProcessor(tiny.config, backend, "direct");
        Map<Long, ResultFrame> results = new HashMap<>();
        for (int i = 0; i < frames.size(); i++) {
            ResultFrame r = s.next().getResult();
            results.put(r.getId(), r);
        }
        for (ActivationFrame f : frames) {
            ResultFrame expected = direct.process(f, WireDtype.WIRE_BF16);
            assertThat(results.get(f.getId())).as("frame %d", f.getId())
                    .satisfies(r -> assertThat(r.getComputeNanos() > 0).isEqualTo(r.getError().isEmpty()))
                    .isEqualTo(expected.toBuilder().setComputeNanos(results.get(f.getId()).getComputeNanos()).build());
        }
        assertThat(results.get(105L).getError()).contains("hidden is 7");

        s.requests.onCompleted();
        assertThat(s.awaitEnd().getCode()).isEqualTo(Status.Code.OK);
    }

    @Test
    void aWrongFingerprintIsRefusedNamingBothSides() throws Exception {
        Stream s = new Stream();
        s.send(handshake("0000aaaa"));
        Status status = s.awaitEnd();
        assertThat(status.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(status.getDescription()).isEqualTo("attention 127.0.0.1:5 has model fingerprint 0000aaaa but ffn"
                + " 127.0.0.1:" + server.port() + " serves " + tiny.config.fingerprint()
                + "; start both with the same checkpoint");
        assertThat(s.responses).isEmpty();
    }

    @Test
    void aFrameBeforeTheHandshakeFailsTheStream() throws Exception {
        Stream s = new Stream();
        s.send(tiny.frame(1, 0, 2, WireDtype.WIRE_F32, new Random(1)));
        Status status = s.awaitEnd();
        assertThat(status.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(status.getDescription()).isEqualTo("the first message on an Exchange stream must be a Handshake,"
                + " got frame 1; send the Handshake before any frame");
    }

    @Test
    void aSecondHandshakeFailsTheStream() throws Exception {
        Stream s = new Stream();
        s.send(handshake(tiny.config.fingerprint()));
        s.next();
        s.send(handshake(tiny.config.fingerprint()));
        Status status = s.awaitEnd();
        assertThat(status.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(status.getDescription()).startsWith("attention 127.0.0.1:5 sent a second handshake");
    }

    @Test
    void aCancelledStreamLeavesTheServerServing() throws Exception {
        Stream s = new Stream();
        s.send(handshake(tiny.config.fingerprint()));
        s.next();
        Random random = new Random(3);
        for (int i = 0; i < 5; i++) {
            s.send(tiny.frame(i, 1, 30, WireDtype.WIRE_BF16, random));
        }
        s.requests.onError(new IllegalStateException("client gives up"));
        assertThat(s.awaitEnd().getCode()).isEqualTo(Status.Code.CANCELLED);

        Stream again = new Stream();
        again.send(handshake(tiny.config.fingerprint()));
        assertThat(again.next().hasAccepted()).isTrue();
        ActivationFrame f = tiny.frame(7, 2, 3, WireDtype.WIRE_F32, random);
        again.send(f);
        ResultFrame answer = again.next().getResult();
        assertThat(answer).isEqualTo(new FrameProcessor(tiny.config, backend, "direct").process(f,
                WireDtype.WIRE_BF16).toBuilder().setComputeNanos(answer.getComputeNanos()).build());
        again.requests.onCompleted();
        assertThat(again.awaitEnd().isOk()).isTrue();
    }

    @Test
    void runningOutOfMemoryStopsTheNodeAndSaysWhy() throws Exception {
        FfnBackend exhausted = new FfnBackend() {
            @Override
            public float[] compute(FfnBatch batch) {
                throw new OutOfMemoryError("Java heap space");
            }

            @Override
            public ExpertSet experts() {
                return backend.experts();
            }

            @Override
            public String name() {
                return "cpu";
            }
        };
        FfnServer doomed = FfnServer.start("127.0.0.1", 0, tiny.config, exhausted, "tiny");
        ManagedChannel to = NettyChannelBuilder.forAddress("127.0.0.1", doomed.port()).usePlaintext().build();
        try {
            Stream s = new Stream(to);
            s.send(handshake(tiny.config.fingerprint()));
            s.next();
            s.send(tiny.frame(1, 1, 3, WireDtype.WIRE_BF16, new Random(4)));
            Status status = s.awaitEnd();
            assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(status.getDescription()).contains("ran out of memory computing frame 1");
            CompletableFuture.runAsync(() -> {
                try {
                    doomed.awaitTermination();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).get(TIMEOUT_S, TimeUnit.SECONDS);
            assertThat(doomed.failure()).isInstanceOf(OutOfMemoryError.class);
        } finally {
            to.shutdownNow().awaitTermination(TIMEOUT_S, TimeUnit.SECONDS);
            doomed.close();
        }
    }

    @Test
    void aBackendThatFailedForGoodIsReportedNotServing() throws Exception {
        AtomicReference<String> failure = new AtomicReference<>();
        FfnBackend breaking = new FfnBackend() {
            @Override
            public float[] compute(FfnBatch batch) {
                return backend.compute(batch);
            }

            @Override
            public ExpertSet experts() {
                return backend.experts();
            }

            @Override
            public String name() {
                return "cuda";
            }

            @Override
            public Optional<String> failure() {
                return Optional.ofNullable(failure.get());
            }
        };
        FfnServer node = FfnServer.start("127.0.0.1", 0, tiny.config, breaking, "tiny");
        ManagedChannel to = NettyChannelBuilder.forAddress("127.0.0.1", node.port()).usePlaintext().build();
        try {
            HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(to)
                    .withDeadlineAfter(TIMEOUT_S, TimeUnit.SECONDS);
            HealthCheckRequest backendHealth = HealthCheckRequest.newBuilder().setService("afd.ffn.backend.cuda")
                    .build();
            assertThat(health.check(backendHealth).getStatus()).isEqualTo(ServingStatus.SERVING);
            failure.set("the CUDA error CUDA_ERROR_ILLEGAL_ADDRESS on layer 0 with 3 rows");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
            while (health.check(backendHealth).getStatus() == ServingStatus.SERVING && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(health.check(backendHealth).getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
            assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus())
                    .isEqualTo(ServingStatus.NOT_SERVING);
        } finally {
            to.shutdownNow().awaitTermination(TIMEOUT_S, TimeUnit.SECONDS);
            node.close();
        }
    }

    @Test
    void healthReportsServing() {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel)
                .withDeadlineAfter(TIMEOUT_S, TimeUnit.SECONDS);
        assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus())
                .isEqualTo(ServingStatus.SERVING);
        assertThat(health.check(HealthCheckRequest.newBuilder().setService(FfnServiceGrpc.SERVICE_NAME).build())
                .getStatus()).isEqualTo(ServingStatus.SERVING);
        assertThat(health.check(HealthCheckRequest.newBuilder().setService("afd.ffn.backend.cpu").build())
                .getStatus()).as("the backend in use").isEqualTo(ServingStatus.SERVING);
        assertThatThrownBy(() -> health.check(HealthCheckRequest.newBuilder().setService("afd.ffn.backend.cuda")
                .build())).as("a backend not in use is unknown").hasMessageContaining("NOT_FOUND");
    }
}
