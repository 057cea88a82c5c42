package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.gateway.routing.AttentionEndpoint;
import dev.afd.gateway.routing.Resolver;
import dev.afd.gateway.routing.Router;
import io.grpc.Status;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The router over scripted attention nodes on loopback: load-based choice, health, DNS, retry elsewhere. */
class RoutingTest {
    @TempDir
    static Path dir;

    static String fingerprint;
    FakeNode a;
    FakeNode b;
    EventLoopGroup group;
    Router router;

    @BeforeAll
    static void model() throws Exception {
        fingerprint = ModelInfo.read(GatewayStack.tinyModel(dir), null).fingerprint();
    }

    @BeforeEach
    void start() throws Exception {
        a = FakeNode.start(fingerprint);
        b = FakeNode.start(fingerprint);
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        a.close();
        b.close();
    }

    private Router router(Resolver resolver) {
        return router(resolver, true);
    }

    private Router router(Resolver resolver, boolean prefixRouting) {
        router = new Router(resolver, new Router.Options(Duration.ofMillis(30), Duration.ofMillis(100), fingerprint, null,
                prefixRouting), group);
        router.start();
        return router;
    }

    private AttentionEndpoint endpoint(FakeNode n) {
        return router.endpoints().stream().filter(e -> e.target().equals(n.target())).findFirst().orElseThrow();
    }

    /** Waits for {@code condition}, which needs fresh load reports, so first lets two polls go by. */
    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        Thread.sleep(70);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(end);
            Thread.sleep(10);
        }
    }

    @Test
    void theLeastLoadedReadyNodeIsPicked() throws Exception {
        router(Resolver.fixed(List.of(a.target(), b.target())));
        a.load = a.load(5, true);
        await("a reports 5 waiting", () -> endpoint(a).load() != null && endpoint(a).load().waiting() == 5
                && endpoint(b).ready());
        assertThat(router.pick(List.of(), Set.of())).isSameAs(endpoint(b));
        b.load = b.load(9, true);
        await("b reports 9 waiting", () -> endpoint(b).load().waiting() == 9);
        assertThat(router.pick(List.of(), Set.of())).isSameAs(endpoint(a));
        assertThat(router.pick(List.of(), Set.of(endpoint(a)))).isSameAs(endpoint(b));
        // Equal queues: the one with more free KV blocks.
        a.load = a.load.toBuilder().setWaiting(0).setKvBlocksUsed(90).setKvBlocksFree(10).build();
        b.load = b.load.toBuilder().setWaiting(0).setKvBlocksUsed(10).setKvBlocksFree(90).build();
        await("kv usage reported", () -> endpoint(a).load().kvBlocksUsed() == 90
                && endpoint(b).load().kvBlocksUsed() == 10);
        assertThat(router.pick(List.of(), Set.of())).isSameAs(endpoint(b));
        assertThat(router.readyNodes()).isEqualTo(2);
    }

    /** A prompt of {@code length} tokens that starts with {@code first} and then counts up. */
    private static List<Integer> prompt(int first, int length) {
        return IntStream.range(0, length).map(i -> i == 0 ? first : 1000 + i).boxed().toList();
    }

    @Test
    void promptsThatStartAlikeGoToOneNodeUntilItsQueueRunsAheadOfTheLeastLoaded() throws Exception {
        router(Resolver.fixed(List.of(a.target(), b.target())));
        await("both ready", () -> endpoint(a).ready() && endpoint(b).ready());
        Set<AttentionEndpoint> chosen = new HashSet<>();
        for (int first = 0; first < 40; first++) {
            AttentionEndpoint node = router.pick(prompt(first, 64), Set.of());
            chosen.add(node);
            assertThat(router.pick(prompt(first, 300), Set.of())).as("same first 64 tokens, longer prompt")
                    .isSameAs(node);
        }
        assertThat(chosen).as("different prefixes spread over the nodes").hasSize(2);

        AttentionEndpoint preferred = router.pick(prompt(7, 80), Set.of());
        FakeNode busy = preferred == endpoint(a) ? a : b;
        AttentionEndpoint other = preferred == endpoint(a) ? endpoint(b) : endpoint(a);
        busy.load = busy.load(Router.OVERLOADED_BY - 1, true);
        await("a short queue reported", () -> preferred.load().waiting() == Router.OVERLOADED_BY - 1);
        assertThat(router.pick(prompt(7, 80), Set.of())).as("a short queue keeps the prefix").isSameAs(preferred);
        busy.load = busy.load(Router.OVERLOADED_BY, true);
        await("a long queue reported", () -> preferred.load().waiting() == Router.OVERLOADED_BY);
        assertThat(router.pick(prompt(7, 80), Set.of())).as("overloaded: the least loaded").isSameAs(other);
        assertThat(router.pick(prompt(7, 80), Set.of(other))).as("a retry goes wherever is left")
                .isSameAs(preferred);
        assertThat(router.pick(prompt(7, 15), Set.of())).as("shorter than a block: the least loaded")
                .isSameAs(other);
    }

    @Test
    void withoutPrefixRoutingEveryPromptGoesToTheLeastLoaded() throws Exception {
        router(Resolver.fixed(List.of(a.target(), b.target())), false);
        a.load = a.load(1, true);
        await("a reports 1 waiting", () -> endpoint(a).load() != null && endpoint(a).load().waiting() == 1
                && endpoint(b).ready());
        for (int first = 0; first < 20; first++) {
            assertThat(router.pick(prompt(first, 64), Set.of())).isSameAs(endpoint(b));
        }
    }

    @Test
    void nodesNotServingOrServingAnotherModelAreNotUsed() throws Exception {
        router(Resolver.fixed(List.of(a.target(), b.target())));
        a.load = a.load(0, false);
        b.load = b.load.toBuilder().setModelFingerprint("some-other-model").build();
        // Both must have reported: a node with no report yet is out too, for another reason.
        await("both reported and out", () -> String.valueOf(endpoint(a).notReadyReason()).contains("not serving")
                && String.valueOf(endpoint(b).notReadyReason()).contains("different model"));
        assertThat(router.pick(List.of(), Set.of())).isNull();
        assertThat(router.anyReady()).isFalse();
        assertThat(router.notReadyReason()).contains("not serving", "different model", "some-other-model");
    }

    @Test
    void aFailingHealthCheckTakesANodeOutUntilItAnswersAgain() throws Exception {
        router(Resolver.fixed(List.of(a.target(), b.target())));
        await("both ready", () -> endpoint(a).ready() && endpoint(b).ready());
        a.failLoad = true;
        await("a out", () -> !endpoint(a).ready());
        for (int i = 0; i < 5; i++) {
            assertThat(router.pick(List.of(), Set.of())).isSameAs(endpoint(b));
        }
        a.failLoad = false;
        await("a back", () -> endpoint(a).ready());
    }

    @Test
    void aDeadNodeIsTakenOutAndPutBackWhenItReturns() throws Exception {
        router(Resolver.fixed(List.of(a.target(), b.target())));
        await("both ready", () -> endpoint(a).ready() && endpoint(b).ready());
        a.stop();
        await("a out", () -> !endpoint(a).ready());
        assertThat(endpoint(a).notReadyReason()).contains("load check failed");
        assertThat(router.pick(List.of(), Set.of())).isSameAs(endpoint(b));
        a.restart();
        await("a back", () -> endpoint(a).ready());
    }

    @Test
    void theResolverIsAskedAgainAndItsAnswerFollowed() throws Exception {
        AtomicReference<List<String>> targets = new AtomicReference<>(List.of(a.target()));
        router(new Resolver() {
            @Override
            public List<String> resolve() {
                return targets.get();
            }

            @Override
            public String describe() {
                return "test resolver";
            }
        });
        await("a ready", () -> router.anyReady());
        targets.set(List.of(a.target(), b.target()));
        await("b joins", () -> router.endpoints().size() == 2 && endpoint(b).ready());
        targets.set(List.of(b.target()));
        await("a leaves", () -> router.endpoints().size() == 1);
        assertThat(router.pick(List.of(), Set.of()).target()).isEqualTo(b.target());
    }

    @Test
    void aDnsNameResolvesToEveryAddressWithThePort() throws Exception {
        int port = Integer.parseInt(a.target().substring(a.target().lastIndexOf(':') + 1));
        assertThat(Resolver.dns("localhost:" + port).resolve()).contains("127.0.0.1:" + port);
        router(Resolver.dns("localhost", port));
        await("localhost ready", () -> router.anyReady());
        assertThat(router.pick(List.of(), Set.of()).target()).isEqualTo("127.0.0.1:" + port);
    }

    @Test
    void aRequestRefusedBeforeItsFirstTokenIsRetriedOnAnotherNode() throws Exception {
        TestNatives.use();
        a.script = (r, out) -> out.onError(Status.UNAVAILABLE.withDescription("ffn-nodes gone").asRuntimeException());
        b.load = b.load(3, true);
        try (Gateway g = Gateway.start(GatewayOptions.builder().address("127.0.0.1", 0)
                        .intervals(Duration.ofMillis(30), Duration.ofSeconds(5)).build(), GatewayStack.tinyModel(dir), null,
                Resolver.fixed(List.of(a.target(), b.target())))) {
            Http http = new Http(g.port());
            await("both ready", () -> g.router().endpoints().stream().allMatch(AttentionEndpoint::ready));
            var r = http.postOk("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 3}");
            assertThat(r.path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
            assertThat(a.requests).hasSize(1);
            assertThat(b.requests).hasSize(1);
            assertThat(b.requests.getFirst().getRequestId()).isEqualTo(a.requests.getFirst().getRequestId());
        }
    }
}
