package dev.afd.ffn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed kernel binaries ({@code src/main/resources/cuda}) must be what {@code src/main/cuda/build-ptx.sh}
 * makes from the committed sources. Two checks: the manifest's SHA-256 sums against the sources and outputs
 * (always: catches a kernel edit without a rebuild, on any machine), and a fresh PTX build compared with the
 * committed PTX (where nvcc of the manifest's release is on the PATH, as on the build machines).
 */
class CudaPtxFreshnessTest {
    private static final Path SOURCES = Path.of("src/main/cuda");
    private static final Path RESOURCES = Path.of("src/main/resources/cuda");
    private static final String REBUILD = "; run ffn-node/src/main/cuda/build-ptx.sh and commit"
            + " ffn-node/src/main/resources/cuda";

    private static Properties manifest() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(RESOURCES.resolve("manifest.properties"))) {
            p.load(in);
        }
        return p;
    }

    private static List<Path> kernelSources() throws IOException {
        try (Stream<Path> files = Files.list(SOURCES)) {
            return files.filter(f -> f.toString().endsWith(".cu")).sorted().toList();
        }
    }

    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theManifestMatchesTheSourcesAndTheCommittedBinaries() throws IOException {
        Properties manifest = manifest();
        TreeSet<String> sources = new TreeSet<>();
        for (Path source : Stream.concat(kernelSources().stream(), Stream.of(SOURCES.resolve("build-ptx.sh")))
                .toList()) {
            String key = "source." + source.getFileName();
            sources.add(key);
            assertThat(manifest.getProperty(key)).as("%s was changed after the binaries were built%s", source,
                    REBUILD).isEqualTo(sha256(source));
        }
        assertThat(manifest.stringPropertyNames().stream().filter(k -> k.startsWith("source.")))
                .as("the manifest lists sources that are gone%s", REBUILD)
                .containsExactlyInAnyOrderElementsOf(sources);
        TreeSet<String> outputs = new TreeSet<>();
        try (Stream<Path> files = Files.list(RESOURCES)) {
            for (Path f : files.filter(f -> !f.getFileName().toString().equals("manifest.properties")).toList()) {
                outputs.add("output." + f.getFileName());
                assertThat(manifest.getProperty("output." + f.getFileName()))
                        .as("%s is not what the last build-ptx.sh run wrote%s", f, REBUILD).isEqualTo(sha256(f));
            }
        }
        assertThat(manifest.stringPropertyNames().stream().filter(k -> k.startsWith("output.")))
                .as("the manifest and the files in %s differ%s", RESOURCES, REBUILD)
                .containsExactlyInAnyOrderElementsOf(outputs);
        for (Path source : kernelSources()) {
            String name = source.getFileName().toString().replace(".cu", "");
            assertThat(outputs).as("binaries of %s", source)
                    .contains("output." + name + ".ptx", "output." + name + ".sm_80.cubin",
                            "output." + name + ".sm_90.cubin");
        }
    }

    @Test
    void aFreshPtxBuildEqualsTheCommittedPtx(@TempDir Path out) throws Exception {
        String release = nvccRelease();
        assumeTrue(release != null, "nvcc is not on the PATH; the PTX rebuild check runs where it is");
        String built = manifest().getProperty("nvcc");
        assumeTrue(release.equals(built), "nvcc here is " + release + " but the committed binaries come from "
                + built + "; another release writes other PTX");
        Process p = new ProcessBuilder("bash", SOURCES.resolve("build-ptx.sh").toString(), "--ptx-only",
                out.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("build-ptx.sh finished").isTrue();
        assertThat(p.exitValue()).as("build-ptx.sh failed:%n%s", log).isZero();
        for (Path source : kernelSources()) {
            String ptx = source.getFileName().toString().replace(".cu", ".ptx");
            assertThat(withoutComments(out.resolve(ptx)))
                    .as("%s built from the committed %s differs from the committed one%s", ptx, source, REBUILD)
                    .isEqualTo(withoutComments(RESOURCES.resolve(ptx)));
        }
    }

    /** The PTX without its {@code //} comment lines, which name the compiler build rather than the code. */
    private static String withoutComments(Path ptx) throws IOException {
        try (Stream<String> lines = Files.lines(ptx)) {
            return lines.filter(l -> !l.stripLeading().startsWith("//")).collect(Collectors.joining("\n"));
        }
    }

    /** nvcc's release (e.g. 13.0.88), or null when there is no nvcc. */
    private static String nvccRelease() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("nvcc", "--version").redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("release [0-9.]+, V([0-9.]+)").matcher(text);
            return m.find() ? m.group(1) : null;
        } catch (IOException e) {
            return null;
        }
    }
}
