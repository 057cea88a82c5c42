package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs Node.js and npm for tests that drive the gateway with JavaScript packages. Tests skip (with a message) where
 * Node.js or npm is not installed. npm downloads go under the module's {@code target/}, so they survive between runs
 * and {@code mvn clean} removes them.
 */
final class NodeTools {
    /** A finished process: its exit code and its output (stdout and stderr together). */
    record Result(int exitCode, String output) {}

    private NodeTools() {}

    /** Skips the calling test unless {@code node} and {@code npm} run. */
    static void assumeInstalled() {
        for (String tool : List.of("node", "npm")) {
            boolean ok;
            try {
                Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                ok = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (IOException e) {
                ok = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ok = false;
            }
            Assumptions.assumeTrue(ok, tool + " is not installed (or not on PATH): skipping the test that needs it;"
                    + " install Node.js 20 or newer to run it");
        }
    }

    /** The module's {@code target/} folder. */
    static Path target() {
        return Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("target");
    }

    /** The module's Node.js test sources. */
    static Path sources() {
        return Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("src/test/node");
    }

    /** Runs {@code command} in {@code dir}; fails the test when it does not finish within {@code timeoutSeconds}. */
    static Result run(Path dir, Map<String, String> env, long timeoutSeconds, String... command)
            throws IOException, InterruptedException {
        Path log = Files.createTempFile(dir, "process-", ".log");
        try {
            ProcessBuilder b = new ProcessBuilder(new ArrayList<>(List.of(command))).directory(dir.toFile())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            b.environment().putAll(env);
            Process p = b.start();
            boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            assertThat(done).as(String.join(" ", command) + " finished within " + timeoutSeconds + " s; output:\n"
                    + output).isTrue();
            return new Result(p.exitValue(), output);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
