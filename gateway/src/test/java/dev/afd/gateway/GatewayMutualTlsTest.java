package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.FfnServer;
import dev.afd.gateway.routing.Resolver;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.proto.WireDtype;
import dev.afd.transport.MutualTls;
import dev.afd.transport.TestCertificates;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's {@code --tls-*} options on real sockets: with a certificate from the cluster's CA it reaches an
 * attention node that requires mutual TLS and serves completions; in plaintext or with a certificate from another CA
 * it never counts the node as ready and answers 503, naming the node.
 */
class GatewayMutualTlsTest {
    @TempDir
    static Path dir;

    static Checkpoint checkpoint;
    static TestCertificates.Authority ca;
    static FfnServer ffn;
    static AttentionNode attention;

    @BeforeAll
    static void start() throws Exception {
        TestNatives.use();
        checkpoint = Checkpoint.open(GatewayStack.tinyModel(dir));
        ca = TestCertificates.authority("afd test ca");
        int experts = checkpoint.config().numExperts();
        ffn = FfnServer.start("127.0.0.1", 0, checkpoint.config(),
                new CpuFfnBackend(checkpoint.config(), checkpoint.weights(), new ExpertRange(0, experts - 1)),
                "tiny", TestCertificates.leaf(ca, "ffn", dir.resolve("ffn")));
        attention = AttentionNode.remote(checkpoint, List.of("localhost:" + ffn.port()),
                new AttentionNode.Wire(WireDtype.WIRE_BF16, WireDtype.WIRE_BF16, Duration.ofSeconds(5)),
                EngineOptions.defaults(), "attention tls test",
                TestCertificates.leaf(ca, "attention", dir.resolve("attention")));
        attention.serve("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        attention.close();
        ffn.close();
        checkpoint.close();
    }

    @Test
    void gatewayWithACertificateFromTheClusterCaServesCompletions() throws Exception {
        try (Gateway g = gateway(TestCertificates.leaf(ca, "gateway", dir.resolve("gateway")))) {
            new GatewayStack.Ready(g).await();
            JsonNode r = new Http(g.port()).postOk("/v1/completions",
                    "{\"prompt\": \"Hello\", \"max_tokens\": 3, \"temperature\": 0}");
            assertThat(r.path("usage").path("completion_tokens").asInt()).isEqualTo(3);
        }
    }

    @Test
    void plaintextGatewayIsRefusedAndSaysWhichNode() throws Exception {
        assertNeverReady(null);
    }

    @Test
    void gatewayWithACertificateFromAnotherCaIsRefused() throws Exception {
        assertNeverReady(TestCertificates.leaf(TestCertificates.authority("other ca"), "stranger",
                dir.resolve("stranger")));
    }

    private static void assertNeverReady(MutualTls tls) throws Exception {
        try (Gateway g = gateway(tls)) {
            Thread.sleep(1500); // many load polls at 50 ms
            String target = "localhost:" + attention.server().port();
            assertThat(g.notReadyReason()).contains(target);
            HttpResponse<String> r = new Http(g.port()).post("/v1/completions",
                    "{\"prompt\": \"Hello\", \"max_tokens\": 3}");
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.body()).contains(target);
        }
    }

    private static Gateway gateway(MutualTls tls) throws Exception {
        return Gateway.start(GatewayOptions.builder().address("127.0.0.1", 0).tls(tls)
                        .intervals(Duration.ofMillis(50), Duration.ofSeconds(5)).build(), GatewayStack.tinyModel(dir), null,
                Resolver.fixed(List.of("localhost:" + attention.server().port())));
    }
}
