package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code .mvn/find-jdk25.sh}, which {@code ./mvnw} and {@code ./afd} run so that a default {@code java} older than 25
 * neither fails the build ("release version 25 not supported") nor starts the server.
 */
@DisabledOnOs(OS.WINDOWS)
class JdkFinderTest {
    @TempDir
    Path dir;

    private record Outcome(int status, String out, String err) {}

    private static Path script() {
        Path repo = Path.of("").toAbsolutePath();
        while (!Files.exists(repo.resolve(".mvn/find-jdk25.sh"))) {
            repo = repo.getParent();
        }
        return repo.resolve(".mvn/find-jdk25.sh");
    }

    /** A folder with {@code bin/java} and {@code bin/javac} whose {@code -version} names {@code version}. */
    private Path fakeJdk(String name, String version) throws IOException {
        Path bin = Files.createDirectories(dir.resolve(name).resolve("bin"));
        for (String tool : new String[] {"java", "javac"}) {
            Path p = bin.resolve(tool);
            Files.writeString(p, "#!/bin/sh\necho 'openjdk version \"" + version + "\" 2025-09-16' >&2\n");
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return dir.resolve(name);
    }

    private static Outcome run(Path javaHome) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("sh", script().toString());
        pb.environment().put("JAVA_HOME", javaHome.toString());
        Process p = pb.start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Outcome(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip(),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void aJdk25InJavaHomeIsTaken() throws Exception {
        Path jdk = fakeJdk("jdk-25", "25.0.1");
        Outcome o = run(jdk);
        assertThat(o.status()).isZero();
        assertThat(o.out()).isEqualTo(jdk.toString());
        assertThat(o.err()).isEmpty();
    }

    @Test
    void anOlderJavaHomeIsPassedOverForAnInstalledJdk25OrTheFixIsNamed() throws Exception {
        Path old = fakeJdk("jdk-17", "17.0.15");
        Outcome o = run(old);
        if (o.status() == 0) {
            // This machine has a JDK 25 elsewhere (the one running this test, usually): it is used, and said so.
            assertThat(o.out()).isNotEqualTo(old.toString());
            assertThat(Path.of(o.out(), "bin", "javac")).isExecutable();
            assertThat(o.err()).contains("JAVA_HOME (" + old + ") is not a JDK 25; using " + o.out());
        } else {
            assertThat(o.status()).isEqualTo(1);
            assertThat(o.out()).isEmpty();
            assertThat(o.err()).contains("No JDK 25 found", "set JAVA_HOME to it");
        }
    }
}
