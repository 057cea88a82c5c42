package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The gateway's key from the command line, the environment (through picocli's defaults) or a file. */
class ApiKeysTest {
    @TempDir
    Path dir;

    @Test
    void aKeyFileGivesItsFirstLineWithoutSurroundingWhitespace() throws Exception {
        Path file = Files.writeString(dir.resolve("key"), "  s3cret \nignored\n");
        assertThat(ApiKeys.resolve(null, file)).isEqualTo("s3cret");
        assertThat(ApiKeys.resolve("direct", null)).isEqualTo("direct");
        assertThat(ApiKeys.resolve(null, null)).isNull();
        assertThat(ApiKeys.resolve("", null)).isNull();
    }

    @Test
    void conflictingMissingOrEmptyKeysAreErrorsThatSayWhatToDo() throws Exception {
        Path file = Files.writeString(dir.resolve("key"), "s3cret\n");
        assertThatThrownBy(() -> ApiKeys.resolve("other", file)).hasMessageContaining("not both");
        assertThatThrownBy(() -> ApiKeys.resolve(null, dir.resolve("missing")))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("cannot read the API key file");
        Path empty = Files.writeString(dir.resolve("empty"), "\n");
        assertThatThrownBy(() -> ApiKeys.resolve(null, empty)).hasMessageContaining("is empty");
    }

    @Test
    void theEnvironmentSetsTheKeyWithoutAnArgument() {
        EnvironmentDefaults env = new EnvironmentDefaults(Map.of("AFD_API_KEY", "from-env"));
        GatewayCommand command = new GatewayCommand();
        new CommandLine(command).setDefaultValueProvider(env).parseArgs("--model", "m", "--attention", "a:1");
        assertThat(command.apiKey).isEqualTo("from-env");
    }
}
