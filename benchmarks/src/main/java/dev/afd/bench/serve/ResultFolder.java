package dev.afd.bench.serve;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Where a benchmark writes when no {@code --result-dir} is given: a new folder named after the command and the UTC
 * time ({@code bench-results/serve-20261206-021500}), never an existing one, so a run can not overwrite earlier
 * results or the committed {@code benchmarks/results}.
 */
public final class ResultFolder {
    /** Under the current directory; ignored by git. */
    public static final Path PARENT = Path.of("bench-results");

    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);

    private ResultFolder() {}

    /** Creates {@code parent/name-STAMP}, or {@code name-STAMP-2}, {@code -3}... when that exists already. */
    public static Path fresh(Path parent, String name, Clock clock) throws IOException {
        Files.createDirectories(parent);
        String base = name + "-" + STAMP.format(clock.instant());
        for (int n = 1; ; n++) {
            Path dir = parent.resolve(n == 1 ? base : base + "-" + n);
            try {
                return Files.createDirectory(dir);
            } catch (FileAlreadyExistsException taken) {
                // another run in the same second: try the next suffix
            }
        }
    }
}
