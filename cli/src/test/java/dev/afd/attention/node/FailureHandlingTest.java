package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.client.AttentionClient;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.ffn.GrpcFfnLink;
import dev.afd.ffn.FfnServer;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.proto.WireDtype;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What happens when ffn-nodes die, come back, or do not match; and aborts. */
class FailureHandlingTest {
    private static final AttentionNode.Wire WIRE =
            new AttentionNode.Wire(WireDtype.WIRE_BF16, WireDtype.WIRE_BF16, Duration.ofSeconds(3));

    @TempDir
    static Path dir;

    private static Checkpoint checkpoint;

    @BeforeAll
    static void model() throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir.resolve("a"));
        checkpoint = Checkpoint.open(dir.resolve("a"));
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    private static GenerationRequest longRequest() {
        return new GenerationRequest(new int[] {1, 2, 3, 4}, 2000, SamplingParams.greedy(), true);
    }

    @Test
    void killingAnFfnNodeFailsOnlyInFlightRequestsThenTheNodeReconnects() throws Exception {
        try (Cluster cluster = new Cluster(checkpoint, 2, WIRE, EngineOptions.defaults());
                AttentionClient client = new AttentionClient(
                        "127.0.0.1:" + cluster.attention.serve("127.0.0.1", 0).port())) {
            FfnServer victim = cluster.ffnServers.get(1);
            int port = victim.port();
            CompletableFuture<GenerationResult> inFlight =
                    CompletableFuture.supplyAsync(() -> client.generate("long", longRequest()));
            awaitRunning(cluster);
            long killed = System.nanoTime();
            victim.kill();

            assertThatThrownBy(inFlight::join)
                    .hasMessageContaining("ffn 127.0.0.1:" + port);
            assertThat(Duration.ofNanos(System.nanoTime() - killed)).isLessThan(WIRE.deadline().plusSeconds(5));
            awaitBlocksFree(cluster); // the load is published at the end of the engine step that failed it
            awaitHealth(cluster, ServingStatus.NOT_SERVING);
            assertThatThrownBy(() -> client.generate("while-down", shortRequest()))
                    .hasMessageContaining("UNAVAILABLE").hasMessageContaining("experts");

            cluster.ffnServers.set(1, cluster.startFfn(cluster.range(1, 2), port));
            cluster.awaitLive();
            awaitHealth(cluster, ServingStatus.SERVING);
            GenerationResult after = client.generate("after", shortRequest());
            assertThat(after.finishReason()).isEqualTo("length");
            assertThat(((GrpcFfnLink) cluster.attention.ffn().links().get(1)).reconnects()).isPositive();
        }
    }

    @Test
    void abortEndsTheStreamAndFreesKvBlocksAtOnce() throws Exception {
        try (Cluster cluster = new Cluster(checkpoint, 2, WIRE, EngineOptions.defaults());
                AttentionClient client = new AttentionClient(
                        "127.0.0.1:" + cluster.attention.serve("127.0.0.1", 0).port())) {
            CompletableFuture<GenerationResult> running =
                    CompletableFuture.supplyAsync(() -> client.generate("to-abort", longRequest()));
            awaitRunning(cluster);
            assertThat(client.abort("to-abort")).isTrue();
            GenerationResult r = running.get(10, TimeUnit.SECONDS);
            assertThat(r.finishReason()).isEqualTo("abort");
            assertThat(r.tokenIds().length).isLessThan(2000);
            awaitBlocksFree(cluster);
            assertThat(client.abort("to-abort")).as("no longer live").isFalse();
        }
    }

    @Test
    void aFingerprintMismatchIsRefusedAtConnectNamingBothSides() throws Exception {
        Path other = dir.resolve("b");
        ModelGenerator.generate(ModelPreset.TINY.config(true), ModelGenerator.Options.defaults(), other);
        try (Checkpoint otherModel = Checkpoint.open(other);
                FfnServer ffn = FfnServer.start("127.0.0.1", 0, otherModel.config(),
                        new dev.afd.ffn.core.CpuFfnBackend(otherModel.config(), otherModel.weights(),
                                new dev.afd.ffn.core.ExpertRange(0, otherModel.config().numExperts() - 1)), "other");
                AttentionNode node = AttentionNode.remote(checkpoint, List.of("127.0.0.1:" + ffn.port()), WIRE,
                        EngineOptions.defaults(), "attention mismatched")) {
            GrpcFfnLink link = (GrpcFfnLink) node.ffn().links().getFirst();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!link.lastError().contains("fingerprint") && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertThat(link.live()).isFalse();
            assertThat(link.lastError()).contains("FAILED_PRECONDITION", checkpoint.config().fingerprint(),
                    otherModel.config().fingerprint(), "attention mismatched", "ffn 127.0.0.1:" + ffn.port());
            assertThat(node.ffn().unavailableReason()).isNotNull();
        }
    }

    private static GenerationRequest shortRequest() {
        return new GenerationRequest(new int[] {5, 6}, 4, SamplingParams.greedy(), true);
    }

    private static void awaitRunning(Cluster cluster) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (cluster.attention.engine().load().running() == 0 && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertThat(cluster.attention.engine().load().running()).isPositive();
    }

    private static void awaitBlocksFree(Cluster cluster) throws InterruptedException {
        Cluster.awaitKvFree(cluster.attention);
    }

    private static void awaitHealth(Cluster cluster, ServingStatus expected) throws InterruptedException {
        AttentionNode node = cluster.attention;
        ManagedChannel channel = NettyChannelBuilder.forTarget("127.0.0.1:" + node.server().port()).usePlaintext()
                .build();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            ServingStatus status = null;
            while (System.nanoTime() < end && (status = HealthGrpc.newBlockingStub(channel)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus()) != expected) {
                Thread.sleep(50);
            }
            assertThat(status).isEqualTo(expected);
        } finally {
            channel.shutdownNow();
        }
    }
}
