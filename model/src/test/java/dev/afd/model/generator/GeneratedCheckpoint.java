package dev.afd.model.generator;

import dev.afd.model.safetensors.Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Generated checkpoints for a test class, one per preset: written to a fresh folder and opened before its tests,
 * closed and deleted after them. Use as
 * {@code @RegisterExtension static final GeneratedCheckpoint model = GeneratedCheckpoint.tiny();}.
 */
public final class GeneratedCheckpoint implements BeforeAllCallback, AfterAllCallback {
    private final List<ModelPreset> presets;
    private final Map<ModelPreset, Checkpoint> checkpoints = new EnumMap<>(ModelPreset.class);
    private Path dir;

    private GeneratedCheckpoint(List<ModelPreset> presets) {
        this.presets = List.copyOf(presets);
    }

    /** The tiny Step-3 preset with default weights (seed, bf16, one shard). */
    public static GeneratedCheckpoint tiny() {
        return of(ModelPreset.TINY);
    }

    /** One checkpoint per preset ({@code norm_expert_weight} off, default weights). */
    public static GeneratedCheckpoint of(ModelPreset... presets) {
        return new GeneratedCheckpoint(List.of(presets));
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        dir = Files.createTempDirectory("afd-models-");
        for (ModelPreset preset : presets) {
            Path modelDir = dir.resolve(preset.id());
            ModelGenerator.generate(preset.config(false), ModelGenerator.Options.defaults(), modelDir);
            checkpoints.put(preset, Checkpoint.open(modelDir));
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        checkpoints.values().forEach(Checkpoint::close);
        checkpoints.clear();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** The first preset's checkpoint. */
    public Checkpoint checkpoint() {
        return checkpoint(presets.getFirst());
    }

    public Checkpoint checkpoint(ModelPreset preset) {
        Checkpoint c = checkpoints.get(preset);
        if (c == null) {
            throw new IllegalArgumentException("no " + preset.id() + " checkpoint here; generated: " + presets);
        }
        return c;
    }
}
