package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** serve --local's processes come up, and generate --attention against them equals offline generate. */
class LocalDeploymentTest {
    @TempDir
    Path dir;

    private static String run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        assertThat(cl.execute(args)).as(err.toString()).isZero();
        return out.toString();
    }

    @Test
    void generateAgainstTheLocalDeploymentEqualsOfflineGenerate() throws Exception {
        Path model = dir.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), model);
        String[] common = {"--prompt-ids", "3,1,4,1,5,9,2,6", "--max-tokens", "12", "--ignore-eos", "--json",
            "--kv-dtype", "f32"};
        try (LocalDeployment d = new LocalDeployment(model, ModelPreset.TINY.config(false).numExperts(), 2, 0,
                List.of("--wire-dtype", "f32", "--response-dtype", "f32", "--kv-dtype", "f32", "--kv-memory-mb", "16"),
                Duration.ofSeconds(120))) {
            String remote = run(concat(new String[] {"generate", "--attention", d.attentionTarget()}, common));
            String offline = run(concat(new String[] {"generate", "--model", model.toString(), "--ffn-shards", "2",
                "--wire-dtype", "f32", "--kv-memory-mb", "16"}, common));
            assertThat(remote).isEqualTo(offline).contains("\"token_ids\"", "\"finish_reason\":\"length\"");
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
