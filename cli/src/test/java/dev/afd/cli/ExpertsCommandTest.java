package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code afd experts plan} end to end: load from a file or an attention node's /metrics, plan, print. */
class ExpertsCommandTest {
    @TempDir
    Path dir;

    private final CliRun cli = new CliRun();
    private final StringWriter out = cli.out;
    private final StringWriter err = cli.err;

    /** The gateway's exposition with a hot expert 0 among 8; expert 7 is never routed to. */
    private static String metrics() {
        StringBuilder s = new StringBuilder("# HELP afd_expert_routed_tokens_total Tokens routed to each expert.\n"
                + "# TYPE afd_expert_routed_tokens_total counter\n");
        double[] tokens = {7000, 1000, 1000, 1000, 1000, 1000, 1000};
        for (int e = 0; e < tokens.length; e++) {
            s.append("afd_expert_routed_tokens_total{expert=\"").append(e).append("\"} ").append(tokens[e])
                    .append('\n');
        }
        return s.append("afd_gateway_requests_inflight 0\n").toString();
    }

    @Test
    void plansFromAMetricsFileAndComparesWithTheContiguousSplit() throws Exception {
        Path load = Files.writeString(dir.resolve("metrics.txt"), metrics());
        assertThat(cli.execute("experts", "plan", "--load", load.toString(), "--nodes", "2", "--capacity", "5"))
                .as(err.toString()).isZero();
        String text = out.toString();
        // Expert 0 (7,000 tokens) on both nodes, then experts 1 and 2 (1,000 each) to fill the ten slots.
        assertThat(text.lines()).containsExactly(
                "7 experts (the largest expert id in the load + 1; give --model if the last experts got no tokens),"
                        + " 13,000 routed tokens",
                "node 0: --experts 0-3,5  expected load 6,500 (100.0% of mean)",
                "node 1: --experts 0-2,4,6  expected load 6,500 (100.0% of mean)",
                "max/mean 1.000 with this plan (10 experts held, 3 of them replicas)",
                "max/mean 1.385 with 2 equal contiguous ranges and no replicas");
    }

    @Test
    void readsAnAttentionNodesMetricsUrlAndTheExpertCountOfTheModel() throws Exception {
        Path model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), model);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4);
        server.createContext("/metrics", x -> {
            byte[] body = metrics().getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort();
            assertThat(cli.execute("experts", "plan", "--load", url + "/metrics", "--nodes", "2", "--capacity", "4",
                    "--model", model.toString(), "--format", "json")).as(err.toString()).isZero();
            JsonNode json = new ObjectMapper().readTree(out.toString());
            assertThat(json.path("experts").asInt()).isEqualTo(8);
            assertThat(json.path("nodes")).hasSize(2);
            assertThat(json.path("nodes").get(0).path("experts").asText() + ","
                    + json.path("nodes").get(1).path("experts").asText()).contains("7");
            assertThat(json.path("max_over_mean").asDouble())
                    .isLessThan(json.path("contiguous_max_over_mean").asDouble());

            assertThat(cli.execute("experts", "plan", "--load", url + "/nothing", "--nodes", "2", "--capacity", "4"))
                    .isEqualTo(1);
            assertThat(err.toString()).contains("afd plan: GET " + url + "/nothing answered HTTP 404; give an"
                    + " attention node's /metrics URL or a file");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void tooLittleCapacityAndMissingFilesAreClearErrors() throws Exception {
        Path load = Files.writeString(dir.resolve("load.json"), "{\"0\": 5, \"5\": 1}");
        assertThat(cli.execute("experts", "plan", "--load", load.toString(), "--nodes", "2", "--capacity", "2"))
                .isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("afd plan: 2 nodes x 2 experts each cannot hold all 6 experts:"
                + " raise --capacity to at least 3 or --nodes to at least 3");
        assertThat(cli.execute("experts", "plan", "--load", dir.resolve("none").toString(), "--nodes", "2",
                "--capacity", "2")).isEqualTo(1);
        assertThat(err.toString()).contains("afd plan: no such file: " + dir.resolve("none"));
    }
}
