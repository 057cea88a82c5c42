package dev.afd.model.config;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes JSON files laid out like Python's {@code json.dump(indent=2)}: {@code "key": value}, two-space indent. */
public final class JsonFiles {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final ObjectWriter WRITER = MAPPER.writer(new DefaultPrettyPrinter()
            .withSeparators(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                    .withArrayEmptySeparator("")
                    .withObjectEmptySeparator(""))
            .withArrayIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE)
            .withObjectIndenter(new DefaultIndenter("  ", "\n")));

    private JsonFiles() {}

    /** A new, empty object to fill and write. */
    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** Writes {@code node} to {@code file} as UTF-8, ending with a newline. */
    public static void write(Path file, JsonNode node) throws IOException {
        Files.writeString(file, WRITER.writeValueAsString(node) + "\n", StandardCharsets.UTF_8);
    }
}
