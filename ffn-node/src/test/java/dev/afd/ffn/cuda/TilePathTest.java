package dev.afd.ffn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The host's tile paths against the kernels' own numbers, read here from the committed PTX (on a GPU,
 * {@link FfnKernels} reads the same constants from the loaded module and refuses to start when they differ).
 */
class TilePathTest {
    /** {@code .const .align 4 .b8 NAME[16] = {b0, b1, ...};} with trailing zero bytes left out. */
    private static final String CONSTANT = "\\.const \\.align 4 \\.b8 %s\\[(\\d+)\\] = \\{([^}]*)\\};";

    private static String ptx() throws IOException {
        try (InputStream in = TilePathTest.class.getClassLoader().getResourceAsStream("cuda/ffn.ptx")) {
            assertThat(in).as("cuda/ffn.ptx on the class path").isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    /** The little-endian ints of a byte-array constant of the PTX. */
    private static int[] exported(String ptx, String name) {
        Matcher m = Pattern.compile(String.format(CONSTANT, Pattern.quote(name))).matcher(ptx);
        assertThat(m.find()).as("%s in the PTX", name).isTrue();
        byte[] bytes = new byte[Integer.parseInt(m.group(1))];
        String[] listed = m.group(2).split(",");
        for (int i = 0; i < listed.length; i++) {
            bytes[i] = (byte) Integer.parseInt(listed[i].strip());
        }
        int[] ints = new int[bytes.length / 4];
        for (int i = 0; i < ints.length; i++) {
            ints[i] = (bytes[4 * i] & 0xff) | (bytes[4 * i + 1] & 0xff) << 8 | (bytes[4 * i + 2] & 0xff) << 16
                    | (bytes[4 * i + 3] & 0xff) << 24;
        }
        return ints;
    }

    @Test
    void everyPathAgreesWithTheKernels() throws IOException {
        String ptx = ptx();
        for (TilePath path : TilePath.values()) {
            int[] exported = exported(ptx, path.exportName());
            path.requireMatches(exported);
            assertThat(exported[0]).as("%s rows per tile", path).isEqualTo(path.maxRows);
        }
    }

    @Test
    void aDisagreementIsRefusedByName() throws IOException {
        int[] exported = exported(ptx(), TilePath.GEMV8.exportName());
        exported[0] = 4;
        assertThatThrownBy(() -> TilePath.GEMV8.requireMatches(exported))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("ffn_path_gemv8 is " + Arrays.toString(exported))
                .hasMessageContaining("TilePath.GEMV8 says [8, 32, 64, 0]");
    }

    @Test
    void groupsGoToThePathThatTakesThem() {
        assertThat(TilePath.forGroup(1)).isEqualTo(TilePath.GEMV2);
        assertThat(TilePath.forGroup(2)).isEqualTo(TilePath.GEMV2);
        assertThat(TilePath.forGroup(3)).isEqualTo(TilePath.GEMV8);
        assertThat(TilePath.forGroup(8)).isEqualTo(TilePath.GEMV8);
        assertThat(TilePath.forGroup(9)).isEqualTo(TilePath.MMA);
        assertThat(TilePath.forGroup(10_000)).isEqualTo(TilePath.MMA);
    }
}
