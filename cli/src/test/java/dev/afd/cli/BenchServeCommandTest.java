package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code afd bench serve} from the command line against a canned OpenAI server on loopback. */
class BenchServeCommandTest {
    private static final byte[] STREAM = ("data: {\"choices\":[{\"index\":0,\"text\":\"a\"}]}\n\n"
            + "data: {\"choices\":[{\"index\":0,\"text\":\"b\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\n\n"
            + "data: [DONE]\n\n").getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private HttpServer server;
    private String baseUrl;
    private final CliRun cli = new CliRun();
    private final StringWriter out = cli.out;
    private final StringWriter err = cli.err;

    @BeforeEach
    void startServer() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.createContext("/v1/completions", ex -> {
            ex.getRequestBody().readAllBytes();
            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, STREAM.length);
            try (OutputStream body = ex.getResponseBody()) {
                body.write(STREAM);
            }
        });
        server.start();
        baseUrl = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    private int run(String... args) {
        return cli.execute(args);
    }

    @Test
    void aRateSweepWritesTheResultsAndThePlot() throws Exception {
        assertThat(run("bench", "serve", "--base-url", baseUrl, "--model", "m", "--num-prompts", "5",
                "--request-rate", "50,inf", "--input-len", "4", "--output-len", "2", "--goodput", "ttft:5000",
                "tpot:1000", "--result-dir", dir.toString(), "--result-name", "s", "--no-progress"))
                .as(err.toString()).isZero();
        assertThat(out.toString()).contains("run 1/2: 5 requests, rate 50/s", "run 2/2: 5 requests, all at once",
                "| request throughput | rate 50/s |", "| goodput (ttft:5000,tpot:1000) |", "written: ");
        JsonNode json = new ObjectMapper().readTree(dir.resolve("s.json").toFile());
        assertThat(json.get("runs")).hasSize(2);
        assertThat(json.get("runs").get(0).get("completed").asInt()).isEqualTo(5);
        assertThat(json.get("runs").get(0).get("total_input_tokens").asInt()).isEqualTo(20);
        assertThat(Files.size(dir.resolve("s-latency.png"))).isPositive();
        assertThat(Files.readString(dir.resolve("s.md"))).contains("![");
    }

    @Test
    void thePrefixDatasetWithWarmUpsAndDetailedRecords() throws Exception {
        assertThat(run("bench", "serve", "--base-url", baseUrl, "--model", "m", "--num-prompts", "6",
                "--dataset", "prefix", "--prefix-len", "32", "--num-prefixes", "2", "--random-input-len", "4",
                "--output-len", "2", "--num-warmups", "2", "--save-detailed", "--result-dir", dir.toString(),
                "--result-name", "p", "--no-progress")).as(err.toString()).isZero();
        assertThat(out.toString()).contains("warm-up: 2 requests", "run 1/1: 6 requests");
        JsonNode json = new ObjectMapper().readTree(dir.resolve("p.json").toFile());
        assertThat(json.get("environment").get("workload").asText()).contains("2 prefixes of 32 token ids");
        assertThat(json.get("runs").get(0).get("requests").get("ttfts")).hasSize(6);
    }

    @Test
    void badOptionsAreOneLineErrors() {
        assertThat(run("bench", "serve", "--base-url", baseUrl, "--model", "m", "--request-rate", "fast"))
                .isEqualTo(1);
        assertThat(err.toString()).contains("bad --request-rate 'fast'");
        assertThat(run("bench", "serve", "--base-url", baseUrl, "--model", "m", "--endpoint", "chat")).isEqualTo(1);
        assertThat(err.toString()).contains("the chat endpoint needs a text dataset");
        assertThat(run("bench", "serve", "--base-url", baseUrl, "--model", "m", "--dataset", "q.jsonl")).isEqualTo(1);
        assertThat(err.toString()).contains("unknown --dataset 'q.jsonl'", "--dataset-path FILE");
        assertThat(run("bench", "serve", "--base-url", baseUrl, "--model", "m", "--dataset", "sharegpt")).isEqualTo(1);
        assertThat(err.toString()).contains("--dataset sharegpt needs --dataset-path FILE");
        assertThat(run("bench", "serve", "--base-url", baseUrl, "--model", "m", "--endpoint", "embeddings"))
                .isEqualTo(1);
        assertThat(err.toString()).contains("unknown endpoint 'embeddings'");
        assertThat(run("bench", "serve", "--base-url", baseUrl, "--model", "m", "--request-rate", "1,2",
                "--max-concurrency", "1,2")).isEqualTo(1);
        assertThat(err.toString()).contains("not both");
    }

    @Test
    void benchListsServeBesideKernelsAndAfd() {
        assertThat(run("bench", "--help")).isZero();
        assertThat(out.toString()).contains("kernels", "afd", "serve");
        assertThat(run("bench", "serve", "--help")).isZero();
        assertThat(out.toString()).contains("--base-url", "--num-prompts", "--request-rate", "--burstiness",
                "--max-concurrency", "--random-input-len", "--random-output-len", "--random-range-ratio",
                "--dataset", "--dataset-path", "--prefix-len", "--num-prefixes", "--sharegpt-output-len",
                "--num-warmups", "--max-seconds", "--save-detailed", "--goodput", "--result-dir", "--seed",
                "--endpoint", "--api-key", "--timeout-s", "--no-progress");
    }
}
