package dev.afd.model.generator;

import dev.afd.model.family.ModelConfig;
import dev.afd.model.safetensors.Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A generated checkpoint for a test class: written to a fresh folder and opened before its tests, closed and deleted
 * after them. Use as {@code @RegisterExtension static final GeneratedCheckpoint model = GeneratedCheckpoint.tiny();}.
 */
public final class GeneratedCheckpoint implements BeforeAllCallback, AfterAllCallback {
    private final ModelConfig config;
    private Path dir;
    private Checkpoint checkpoint;

    private GeneratedCheckpoint(ModelConfig config) {
        this.config = config;
    }

    /** The tiny Step-3 preset with default weights (seed, bf16, one shard). */
    public static GeneratedCheckpoint tiny() {
        return of(ModelPreset.TINY.config(false));
    }

    public static GeneratedCheckpoint of(ModelConfig config) {
        return new GeneratedCheckpoint(config);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        dir = Files.createTempDirectory("afd-model-");
        ModelGenerator.generate(config, ModelGenerator.Options.defaults(), dir);
        checkpoint = Checkpoint.open(dir);
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (checkpoint != null) {
            checkpoint.close();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    /** The checkpoint's folder. */
    public Path dir() {
        return dir;
    }
}
