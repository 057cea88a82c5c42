package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code afd gateway} as its own process: it drains on SIGTERM; and {@code afd demo} starts and stops everything. */
class GatewayCommandTest {
    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void theAttentionNodesAreGivenOneWayExactly() {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        assertThat(cl.execute("gateway", "--model", dir.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("exactly one of --attention", "--attention-dns");
    }

    @Test
    void sigtermFailsReadinessAndLetsTheStreamInFlightFinish() throws Exception {
        Path model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), model);
        try (Checkpoint checkpoint = Checkpoint.open(model);
                AttentionNode node = AttentionNode.inProcess(checkpoint, 2, AttentionNode.Wire.exact(),
                        EngineOptions.defaults().withKvDtype(DType.F32).withKvMemory(32L << 20))) {
            node.serve("127.0.0.1", 0);
            int port = freePort();
            Process gateway = start(dir.resolve("gateway.log"), "gateway", "--model", model.toString(), "--attention",
                    "127.0.0.1:" + node.server().port(), "--port", Integer.toString(port), "--host", "127.0.0.1",
                    "--drain-timeout-s", "30");
            try {
                String base = "http://127.0.0.1:" + port;
                await("the gateway is ready", () -> status(base + "/health") == 200, gateway, dir.resolve("gateway.log"));
                CompletableFuture<HttpResponse<String>> stream = http.sendAsync(HttpRequest.newBuilder(
                                URI.create(base + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(
                                "{\"prompt\": \"Go on\", \"max_tokens\": 600, \"temperature\": 0, \"ignore_eos\": true,"
                                        + " \"stream\": true}")).build(), HttpResponse.BodyHandlers.ofString());
                await("the node runs the request", () -> node.engine().load().running() == 1, gateway,
                        dir.resolve("gateway.log"));
                gateway.destroy();
                await("readiness fails", () -> status(base + "/health") != 200, gateway, dir.resolve("gateway.log"));
                assertThat(stream.isDone()).as("the stream is still running while the gateway drains").isFalse();
                String body = stream.get(60, TimeUnit.SECONDS).body();
                assertThat(body).contains("\"finish_reason\":\"length\"").endsWith("data: [DONE]\n\n");
                assertThat(gateway.waitFor(30, TimeUnit.SECONDS)).as("the gateway exits after draining").isTrue();
                assertThat(Files.readString(dir.resolve("gateway.log"))).contains("afd gateway: stopping", "afd gateway: stopped");
            } finally {
                gateway.destroyForcibly();
            }
        }
    }

    @Test
    void jsonLogsAreOneObjectPerLineAndTheLinesAboutARequestCarryItsId() throws Exception {
        Path model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), model);
        // The per-request lines are debug lines: a logging configuration lets them through.
        Path logging = Files.writeString(dir.resolve("logging.properties"), "dev.afd.level = FINE\n");
        Path err = dir.resolve("gateway.err");
        try (Checkpoint checkpoint = Checkpoint.open(model);
                AttentionNode node = AttentionNode.inProcess(checkpoint, 2, AttentionNode.Wire.exact(),
                        EngineOptions.defaults().withKvDtype(DType.F32).withKvMemory(32L << 20))) {
            node.serve("127.0.0.1", 0);
            int port = freePort();
            List<String> command = new ArrayList<>(LocalDeployment.childCommand(List.of("gateway", "--model",
                    model.toString(), "--attention", "127.0.0.1:" + node.server().port(), "--port",
                    Integer.toString(port), "--host", "127.0.0.1", "--log-format", "json")));
            command.add(1, "-Djava.util.logging.config.file=" + logging);
            Process gateway = new ProcessBuilder(command).redirectOutput(dir.resolve("gateway.out").toFile())
                    .redirectError(err.toFile()).start();
            try {
                String base = "http://127.0.0.1:" + port;
                await("the gateway is ready", () -> status(base + "/health") == 200, gateway, err);
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                        .header("X-Request-Id", "json-req-1").POST(HttpRequest.BodyPublishers.ofString(
                                "{\"prompt\": \"Hi\", \"max_tokens\": 2}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                await("the request's last line", () -> contents(err).contains(" finished in "), gateway, err);
                ObjectMapper json = new ObjectMapper();
                List<JsonNode> lines = new ArrayList<>();
                // The JVM's own notice of the incubating Vector API comes before any logging; every log line is JSON.
                for (String line : contents(err).lines()
                        .filter(l -> !l.equals("WARNING: Using incubator modules: jdk.incubator.vector")).toList()) {
                    JsonNode n;
                    try {
                        n = json.readTree(line);
                    } catch (IOException e) {
                        throw new AssertionError("not JSON: " + line + "\nin:\n" + contents(err), e);
                    }
                    assertThat(n.isObject()).as(line).isTrue();
                    assertThat(n.path("time").asText()).as(line).isNotEmpty();
                    assertThat(n.path("level").asText()).as(line).isIn("ERROR", "WARNING", "INFO", "DEBUG", "TRACE");
                    assertThat(n.path("logger").asText()).as(line).isNotEmpty();
                    lines.add(n);
                }
                assertThat(lines).filteredOn(n -> n.path("message").asText().contains(" finished in "))
                        .singleElement().satisfies(n -> {
                            assertThat(n.path("request_id").asText()).isEqualTo("json-req-1");
                            assertThat(n.path("level").asText()).isEqualTo("DEBUG");
                        });
                assertThat(lines).as("lines outside a request have no request_id")
                        .anyMatch(n -> !n.has("request_id"));
            } finally {
                gateway.destroy();
                if (!gateway.waitFor(30, TimeUnit.SECONDS)) {
                    gateway.destroyForcibly();
                }
            }
        }
    }

    @Test
    void demoServesTheApiAndStopsEveryProcessItStarted() throws Exception {
        int port = freePort();
        Path log = dir.resolve("demo.log");
        Process demo = start(log, "demo", "--preset", "tiny", "--model-dir", dir.resolve("models/demo").toString(),
                "--port", Integer.toString(port), "--attention-port", Integer.toString(freePort()));
        try {
            await("the demo is up", () -> contents(log).contains("Press Ctrl-C"), demo, log);
            String out = contents(log);
            assertThat(out).contains("making the tiny demo model", "http://127.0.0.1:" + port + "/v1",
                    "curl http://127.0.0.1:" + port + "/v1/chat/completions");
            HttpResponse<String> chat = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"demo\", \"messages\": [{\"role\":"
                            + " \"user\", \"content\": \"Hello!\"}], \"max_tokens\": 8}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
            assertThat(chat.body()).contains("\"chat.completion\"", "\"assistant\"");
            HttpResponse<String> auto = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"demo\", \"messages\": [{\"role\":"
                            + " \"user\", \"content\": \"Hello!\"}], \"tools\": [{\"type\": \"function\","
                            + " \"function\": {\"name\": \"f\"}}], \"tool_choice\": \"auto\", \"max_tokens\": 4}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(auto.statusCode()).as("'auto' needs the hermes parser that demo passes through serve: "
                    + auto.body()).isEqualTo(200);
            List<ProcessHandle> started = demo.descendants().toList();
            assertThat(started).hasSizeGreaterThanOrEqualTo(4);
            demo.destroy();
            assertThat(demo.waitFor(60, TimeUnit.SECONDS)).isTrue();
            for (ProcessHandle p : started) {
                await("process " + p.pid() + " stopped", () -> !p.isAlive(), demo, log);
            }
        } finally {
            demo.descendants().forEach(ProcessHandle::destroyForcibly);
            demo.destroyForcibly();
        }
    }

    /** {@code afd <args>} as a child JVM like this one, its output in {@code log}. */
    private static Process start(Path log, String... args) throws IOException {
        return new ProcessBuilder(LocalDeployment.childCommand(List.of(args))).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
    }

    private int status(String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static String contents(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    private static void await(String what, BooleanSupplier condition, Process process, Path log)
            throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what + "; output so far:\n" + contents(log)).isLessThan(end);
            Thread.sleep(20);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
