package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.client.AttentionClient;
import dev.afd.gateway.routing.Resolver;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.sampling.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the gateway adds to a request's latency over calling the attention node directly: the same request (prompt
 * ids, a few tokens, greedy) sent alternately straight to the node over gRPC and through the gateway over HTTP (whole
 * answer and streamed), on loopback, with clients that add no threads of their own. The overhead is the median of the
 * paired differences. Two nodes: a scripted one that answers at once (the gateway's own cost, alone) and the real
 * tiny model (which on a small machine also competes with the gateway for cores).
 *
 * <p>A short smoke run by default, with a loose bound; for the figure, run e.g.
 * {@code ./mvnw -pl gateway -am test -Dtest=GatewayOverheadBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * -Dafd.overhead.requests=3000}.
 */
class GatewayOverheadBenchmark {
    private static final int[] PROMPT = {11, 12, 13, 14, 15, 16, 17, 18};
    private static final int TOKENS = 4;
    private static final int REQUESTS = Integer.getInteger("afd.overhead.requests", 100);

    @TempDir
    Path dir;

    @Test
    void inFrontOfANodeThatAnswersAtOnce() throws Exception {
        TestNatives.use();
        Path model = GatewayStack.tinyModel(dir);
        int[] ids;
        try (ModelTokenizer t = ModelTokenizer.open(model)) {
            ids = t.encode("One two three four", false);
        }
        try (FakeNode node = FakeNode.start(ModelInfo.read(model, null).fingerprint());
                Gateway gateway = Gateway.start(GatewayOptions.builder().address("127.0.0.1", 0).build(), model, null,
                        Resolver.fixed(List.of(node.target())))) {
            node.script = FakeNode.tokens(Arrays.copyOf(ids, TOKENS));
            new GatewayStack.Ready(gateway).await();
            double overhead = measure("scripted node", node.target(), gateway.port());
            assertThat(overhead).isLessThan(3.0);
        }
    }

    @Test
    void inFrontOfTheTinyModel() throws Exception {
        try (GatewayStack stack = GatewayStack.start(dir, GatewayOptions.defaults())) {
            double overhead = measure("tiny model", "127.0.0.1:" + stack.node.server().port(), stack.gateway.port());
            // Loose: on a shared 2-core machine the gateway, the client and the model share the cores.
            assertThat(overhead).isLessThan(6.0);
        }
    }

    /** Runs the paired measurement; prints and returns the median overhead of whole answers, in ms. */
    private static double measure(String what, String nodeTarget, int gatewayPort) throws Exception {
        byte[] whole = body("").getBytes(StandardCharsets.UTF_8);
        byte[] streamed = body(", \"stream\": true").getBytes(StandardCharsets.UTF_8);
        GenerationRequest g = new GenerationRequest(PROMPT, TOKENS, SamplingParams.greedy(), true);
        try (AttentionClient direct = new AttentionClient(nodeTarget);
                RawSocket http = new RawSocket(gatewayPort)) {
            for (int i = 0; i < Math.max(50, REQUESTS / 5); i++) {
                direct.generate("warmup-" + i, g);
                http.post("/v1/completions", whole);
                http.post("/v1/completions", streamed);
            }
            long[] node = new long[REQUESTS];
            long[] viaGateway = new long[REQUESTS];
            long[] viaGatewayStreamed = new long[REQUESTS];
            for (int i = 0; i < REQUESTS; i++) {
                long t0 = System.nanoTime();
                direct.generate("direct-" + i, g);
                long t1 = System.nanoTime();
                RawSocket.Reply w = http.post("/v1/completions", whole);
                long t2 = System.nanoTime();
                RawSocket.Reply s = http.post("/v1/completions", streamed);
                long t3 = System.nanoTime();
                assertThat(w.status()).isEqualTo(200);
                assertThat(s.body()).endsWith("data: [DONE]\n\n");
                node[i] = t1 - t0;
                viaGateway[i] = t2 - t1;
                viaGatewayStreamed[i] = t3 - t2;
            }
            double overhead = medianDifference(viaGateway, node);
            System.out.println(String.format(Locale.ROOT, "gateway overhead, %s, %d requests of %d tokens: median"
                    + " %.3f ms (whole answer), %.3f ms (streamed); node alone %.3f ms, through the gateway %.3f ms /"
                    + " %.3f ms", what, REQUESTS, TOKENS, overhead, medianDifference(viaGatewayStreamed, node),
                    median(node), median(viaGateway), median(viaGatewayStreamed)));
            return overhead;
        }
    }

    private static String body(String extra) {
        return "{\"prompt\": " + Arrays.toString(PROMPT) + ", \"max_tokens\": " + TOKENS
                + ", \"temperature\": 0, \"ignore_eos\": true" + extra + "}";
    }

    /** Median of {@code a[i] - b[i]}, in milliseconds. */
    private static double medianDifference(long[] a, long[] b) {
        long[] d = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return median(d);
    }

    private static double median(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2] / 1e6;
    }
}
