package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.ffn.GrpcFfnLink;
import dev.afd.ffn.FfnServer;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.proto.Handshake;
import dev.afd.proto.WireDtype;
import dev.afd.transport.MutualTls;
import dev.afd.transport.TestCertificates;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS between the tiers on real loopback sockets: an attention node and an ffn-node with certificates from one
 * CA talk to each other; clients without a certificate, with one from another CA, or in plaintext are refused.
 */
class MutualTlsTest {
    private static final AttentionNode.Wire WIRE =
            new AttentionNode.Wire(WireDtype.WIRE_BF16, WireDtype.WIRE_BF16, Duration.ofSeconds(3));

    @TempDir
    static Path dir;

    static Checkpoint checkpoint;
    static MutualTls gateway;
    static MutualTls stranger;
    static FfnServer ffn;
    static AttentionNode attention;

    @BeforeAll
    static void start() throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir.resolve("m"));
        checkpoint = Checkpoint.open(dir.resolve("m"));
        TestCertificates.Authority ca = TestCertificates.authority("afd test ca");
        gateway = TestCertificates.leaf(ca, "gateway", dir.resolve("gateway"));
        stranger = TestCertificates.leaf(TestCertificates.authority("other ca"), "stranger", dir.resolve("stranger"));
        int experts = checkpoint.config().numExperts();
        ffn = FfnServer.start("127.0.0.1", 0, checkpoint.config(),
                new CpuFfnBackend(checkpoint.config(), checkpoint.weights(), new ExpertRange(0, experts - 1)),
                "tiny", TestCertificates.leaf(ca, "ffn", dir.resolve("ffn")));
        attention = AttentionNode.remote(checkpoint, List.of("localhost:" + ffn.port()), WIRE,
                EngineOptions.defaults(), "attention tls test", TestCertificates.leaf(ca, "attention",
                        dir.resolve("attention")));
        attention.serve("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        attention.close();
        ffn.close();
        checkpoint.close();
    }

    @Test
    void attentionNodeReachesTheFfnNodeAndServesClientsWithCertificates() throws Exception {
        GrpcFfnLink link = (GrpcFfnLink) attention.ffn().links().getFirst();
        assertThat(link.awaitLive(Duration.ofSeconds(20))).as(link.lastError()).isTrue();
        // The node re-checks its links every 200 ms before it reports SERVING.
        ServingStatus status = null;
        for (long end = System.nanoTime() + 5_000_000_000L; status != ServingStatus.SERVING
                && System.nanoTime() < end; Thread.sleep(50)) {
            status = health(attention.server().port(), b -> MutualTls.secure(b, gateway));
        }
        assertThat(status).isEqualTo(ServingStatus.SERVING);
        assertThat(health(ffn.port(), b -> MutualTls.secure(b, gateway))).isEqualTo(ServingStatus.SERVING);
    }

    @Test
    void clientWithoutCertificateIsRefused() {
        Function<NettyChannelBuilder, NettyChannelBuilder> noCertificate = b -> {
            try {
                return b.sslContext(GrpcSslContexts.forClient().trustManager(gateway.trustedCa().toFile()).build());
            } catch (javax.net.ssl.SSLException e) {
                throw new IllegalStateException(e);
            }
        };
        assertRefused(ffn.port(), noCertificate);
        assertRefused(attention.server().port(), noCertificate);
    }

    @Test
    void clientWithCertificateFromAnotherAuthorityIsRefused() {
        assertRefused(ffn.port(), b -> MutualTls.secure(b, stranger));
        assertRefused(attention.server().port(), b -> MutualTls.secure(b, stranger));
    }

    @Test
    void plaintextClientIsRefused() throws Exception {
        assertRefused(ffn.port(), b -> MutualTls.secure(b, null));
        ScheduledExecutorService reconnects = Executors.newSingleThreadScheduledExecutor();
        GrpcFfnLink plain = new GrpcFfnLink("localhost:" + ffn.port(), Handshake.newBuilder()
                .setModelFingerprint(checkpoint.config().fingerprint()).setRequestDtype(WireDtype.WIRE_BF16)
                .setResponseDtype(WireDtype.WIRE_BF16).setClient("plaintext").build(), reconnects);
        try {
            assertThat(plain.awaitLive(Duration.ofMillis(1500))).isFalse();
        } finally {
            plain.close();
            reconnects.shutdownNow();
        }
    }

    @Test
    void partialTlsOptionsAreAnError() {
        assertThat(MutualTls.fromOptions(null, null, null)).isNull();
        assertThatThrownBy(() -> MutualTls.fromOptions(gateway.certChain(), gateway.privateKey(), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("needs all of", "got --tls-cert and --tls-key)");
        assertThatThrownBy(() -> MutualTls.fromOptions(gateway.certChain(), dir.resolve("missing.key"),
                gateway.trustedCa())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing.key");
    }

    private static void assertRefused(int port, Function<NettyChannelBuilder, NettyChannelBuilder> security) {
        assertThatThrownBy(() -> health(port, security)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    }

    private static ServingStatus health(int port, Function<NettyChannelBuilder, NettyChannelBuilder> security)
            throws InterruptedException {
        ManagedChannel channel = security.apply(NettyChannelBuilder.forAddress("localhost", port)).build();
        try {
            return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus();
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
