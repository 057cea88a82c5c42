package dev.afd.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Keeps the native libraries DJL and JNA unpack at first use out of the user's home: one temporary folder per test
 * JVM, deleted when it exits (the libraries stay mapped, so deleting the files is safe).
 */
public final class TestNatives {
    private static boolean set;

    private TestNatives() {}

    public static synchronized void use() {
        if (set) {
            return;
        }
        try {
            Path dir = Files.createTempDirectory("afd-gateway-test-natives");
            System.setProperty("DJL_CACHE_DIR", dir.toString());
            System.setProperty("ENGINE_CACHE_DIR", dir.toString());
            System.setProperty("jna.tmpdir", dir.toString());
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
            set = true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }
}
