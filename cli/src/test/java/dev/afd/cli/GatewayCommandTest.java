package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

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
