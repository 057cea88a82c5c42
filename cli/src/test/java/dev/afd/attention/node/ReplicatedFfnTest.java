package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.client.AttentionClient;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.ffn.FfnMembership;
import dev.afd.ffn.FfnServer;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertSet;
import dev.afd.ffn.core.FfnBackend;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.tensor.DType;
import dev.afd.proto.WireDtype;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An FFN tier with replicas, over real gRPC on loopback: overlapping expert sets give exactly the single-process
 * tokens and log-probabilities (the fixed combine order), copies share the work evenly, a node killed or drained in
 * the middle of decoding costs no request while every expert keeps a holder, and members come and go with DNS.
 */
class ReplicatedFfnTest {
    /** f32 both ways: results must not depend on which holder served a row, bit for bit. */
    private static final AttentionNode.Wire WIRE =
            new AttentionNode.Wire(WireDtype.WIRE_F32, WireDtype.WIRE_F32, Duration.ofSeconds(3));
    private static final EngineOptions OPTIONS = EngineOptions.defaults().withKvDtype(DType.F32).withMicroBatches(2);

    @TempDir
    static Path dir;

    static Checkpoint checkpoint;
    /** The tiny model's 8 experts in three chunks; node n holds chunks n and n+1: every expert on two nodes. */
    static List<ExpertSet> overlapping;

    @BeforeAll
    static void model() throws Exception {
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), dir);
        checkpoint = Checkpoint.open(dir);
        overlapping = List.of(ExpertSet.parse("0-4"), ExpertSet.parse("2-7"), ExpertSet.parse("0-1,5-7"));
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    /** Eight greedy requests long enough to be decoding when a node goes away. */
    private static List<GenerationRequest> decoding(int tokens) {
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            out.add(new GenerationRequest(new int[] {3 + i, 1, 4, 1, 5}, tokens, SamplingParams.greedy(), true));
        }
        return out;
    }

    @Test
    void overlappingSetsGiveExactlyTheSingleProcessResults() throws Exception {
        List<GenerationRequest> requests = DistributedParityTest.requests(checkpoint, 12);
        List<GenerationResult> single = DistributedParityTest.singleProcess(checkpoint, requests, WIRE, OPTIONS);
        try (Cluster cluster = new Cluster(checkpoint, overlapping, WIRE, OPTIONS)) {
            int port = cluster.attention.serve("127.0.0.1", 0).port();
            DistributedParityTest.assertSame(DistributedParityTest.generate(requests, List.of(port)), single);
        }
    }

    @Test
    void twoFullCopiesEachComputeHalfTheRoutedWork() throws Exception {
        try (Cluster cluster = new Cluster(checkpoint, List.of(ExpertSet.all(), ExpertSet.all()), WIRE, OPTIONS)) {
            int port = cluster.attention.serve("127.0.0.1", 0).port();
            DistributedParityTest.generate(decoding(48), List.of(port));
            Map<String, Long> units = cluster.attention.ffn().stats().holderUnits();
            long total = units.values().stream().mapToLong(Long::longValue).sum();
            System.out.println("routed units per copy, two full copies: " + units);
            assertThat(units).hasSize(2);
            for (long share : units.values()) {
                assertThat((double) share / total).as("share of %s", units).isBetween(0.4, 0.6);
            }
        }
    }

    @Test
    void aNodeKilledWhileDecodingCostsNoRequestThenASecondKillFailsNamingTheExperts() throws Exception {
        List<GenerationRequest> requests = decoding(400);
        List<GenerationResult> single = DistributedParityTest.singleProcess(checkpoint, requests, WIRE, OPTIONS);
        try (Cluster cluster = new Cluster(checkpoint, overlapping, WIRE, OPTIONS)) {
            int port = cluster.attention.serve("127.0.0.1", 0).port();
            CompletableFuture<List<GenerationResult>> streams = inBackground(requests, port);
            awaitDecoding(cluster.attention);
            cluster.ffnServers.get(1).kill();
            DistributedParityTest.assertSame(streams.join(), single);

            // Node 0 holds chunk 0-1 with node 2 and 2-4 alone now: losing it leaves 2-4 without a holder.
            try (AttentionClient client = new AttentionClient("127.0.0.1:" + port)) {
                CompletableFuture<GenerationResult> inFlight = CompletableFuture.supplyAsync(
                        () -> client.generate("doomed", requests.getFirst()));
                awaitDecoding(cluster.attention);
                long killed = System.nanoTime();
                cluster.ffnServers.get(0).kill();
                assertThatThrownBy(inFlight::join).hasMessageContaining("experts").hasMessageContaining("2-4");
                assertThat(Duration.ofNanos(System.nanoTime() - killed)).isLessThan(WIRE.deadline().plusSeconds(5));

                for (int n : new int[] {0, 1}) {
                    cluster.ffnServers.set(n, cluster.startFfn(overlapping.get(n), cluster.ffnServers.get(n).port()));
                }
                cluster.awaitLive();
                assertThat(client.generate("back", requests.getFirst()).finishReason()).isEqualTo("length");
            }
        }
    }

    @Test
    void aRollingRestartOfEveryNodeUnderLoadLosesNothing() throws Exception {
        List<GenerationRequest> requests = decoding(1000);
        List<GenerationResult> single = DistributedParityTest.singleProcess(checkpoint, requests, WIRE, OPTIONS);
        try (Cluster cluster = new Cluster(checkpoint, overlapping, WIRE, OPTIONS)) {
            int port = cluster.attention.serve("127.0.0.1", 0).port();
            CompletableFuture<List<GenerationResult>> streams = inBackground(requests, port);
            awaitDecoding(cluster.attention);
            // One node at a time, as a rolling update does: SIGTERM's drain, then the new version on the same port.
            for (int n = 0; n < overlapping.size(); n++) {
                FfnServer old = cluster.ffnServers.get(n);
                assertThat(old.drainAndClose(Duration.ofSeconds(10))).as("node %d drained quietly", n).isTrue();
                cluster.ffnServers.set(n, cluster.startFfn(overlapping.get(n), old.port()));
                cluster.awaitLive();
            }
            assertThat(streams).as("the restarts happened while the streams decoded").isNotDone();
            DistributedParityTest.assertSame(streams.join(), single);
            assertThat(cluster.attention.ffn().tier().drains()).isEqualTo(overlapping.size());
        }
    }

    @Test
    @Timeout(120) // without deadlines the wedged node's parts are awaited forever
    void aNodeThatStopsAnsweringHasItsUnitsSentToTheOtherCopyAtTheDeadline() throws Exception {
        AttentionNode.Wire shortDeadline = new AttentionNode.Wire(WIRE.requestDtype(), WIRE.responseDtype(),
                Duration.ofMillis(300));
        List<GenerationRequest> requests = decoding(40);
        List<GenerationResult> single = DistributedParityTest.singleProcess(checkpoint, requests, shortDeadline,
                OPTIONS);
        FfnBackend cpu = new CpuFfnBackend(checkpoint.config(), checkpoint.weights(), ExpertSet.all());
        AtomicBoolean hang = new AtomicBoolean();
        CountDownLatch release = new CountDownLatch(1);
        // Stops answering once told, as a node wedged in a driver call would; its stream stays open.
        FfnBackend wedged = new FfnBackend() {
            @Override
            public float[] compute(FfnBatch batch) {
                if (hang.get()) {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return cpu.compute(batch);
            }

            @Override
            public ExpertSet experts() {
                return cpu.experts();
            }

            @Override
            public String name() {
                return "wedged";
            }
        };
        FfnServer a = FfnServer.start("127.0.0.1", 0, checkpoint.config(), wedged, "test model");
        FfnServer b = FfnServer.start("127.0.0.1", 0, checkpoint.config(), cpu, "test model");
        try (AttentionNode node = AttentionNode.remote(checkpoint, List.of("127.0.0.1:" + a.port(),
                "127.0.0.1:" + b.port()), shortDeadline, OPTIONS, "attention deadline test")) {
            awaitMembers(node, 2);
            int port = node.serve("127.0.0.1", 0).port();
            CompletableFuture<List<GenerationResult>> streams = inBackground(requests, port);
            awaitDecoding(node);
            hang.set(true);
            DistributedParityTest.assertSame(streams.join(), single);
            assertThat(node.ffn().stats().failovers()).as("the wedged node's parts went to the other copy")
                    .isPositive();
        } finally {
            release.countDown();
            a.close();
            b.close();
        }
    }

    @Test
    void membersFollowDnsJoiningAndLeaving() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Map<String, List<InetAddress>> dns = new ConcurrentHashMap<>();
        dns.put("ffn.test", List.of(InetAddress.getByName("127.0.0.2")));
        FfnMembership.Resolver resolver = host -> {
            List<InetAddress> a = dns.get(host);
            if (a == null) {
                throw new UnknownHostException(host);
            }
            return a;
        };
        FfnServer a = FfnServer.start("127.0.0.2", port, checkpoint.config(),
                new CpuFfnBackend(checkpoint.config(), checkpoint.weights(), ExpertSet.all()), "test model");
        FfnServer b = FfnServer.start("127.0.0.3", port, checkpoint.config(),
                new CpuFfnBackend(checkpoint.config(), checkpoint.weights(), ExpertSet.all()), "test model");
        try (a; b; AttentionNode node = AttentionNode.remote(checkpoint, List.of("ffn.test:" + port), WIRE, OPTIONS,
                "attention dns test", null, resolver, Duration.ofMillis(200))) {
            int attention = node.serve("127.0.0.1", 0).port();
            awaitMembers(node, 1);
            DistributedParityTest.generate(decoding(8), List.of(attention));

            dns.put("ffn.test", List.of(InetAddress.getByName("127.0.0.2"), InetAddress.getByName("127.0.0.3")));
            awaitMembers(node, 2);
            DistributedParityTest.generate(decoding(24), List.of(attention));
            assertThat(node.ffn().stats().holderUnits()).as("the new member takes work").hasSize(2);

            dns.put("ffn.test", List.of(InetAddress.getByName("127.0.0.3")));
            awaitMembers(node, 1);
            assertThat(node.ffn().links().getFirst().node()).contains("127.0.0.3");
            DistributedParityTest.generate(decoding(8), List.of(attention));
            assertThat(node.ffn().tier().membershipChanges()).isEqualTo(2);
        }
    }

    /** Sends {@code requests} to the attention node at {@code port}, each from its own client, in the background. */
    private static CompletableFuture<List<GenerationResult>> inBackground(List<GenerationRequest> requests, int port) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return DistributedParityTest.generate(requests, List.of(port));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Waits until {@code n} members are connected. */
    private static void awaitMembers(AttentionNode node, int n) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!(node.ffn().links().size() == n && node.ffn().links().stream().allMatch(l -> l.live()))) {
            assertThat(System.nanoTime()).as("%d members connected", n).isLessThan(end);
            Thread.sleep(20);
        }
    }

    /** Waits until the attention node is decoding (sequences running). */
    private static void awaitDecoding(AttentionNode node) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (node.engine().load().running() == 0) {
            assertThat(System.nanoTime()).as("requests running").isLessThan(end);
            Thread.sleep(5);
        }
        Thread.sleep(100);
    }
}
