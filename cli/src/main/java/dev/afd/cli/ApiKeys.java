package dev.afd.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The gateway's API key from {@code --api-key} (or {@code AFD_API_KEY}) or from {@code --api-key-file}. */
final class ApiKeys {
    private ApiKeys() {}

    /**
     * @return the key, or null when neither is given
     * @throws IllegalArgumentException when both are given, or the file is unreadable or holds no key
     */
    static String resolve(String key, Path file) {
        if (file == null) {
            return key == null || key.isEmpty() ? null : key;
        }
        if (key != null && !key.isEmpty()) {
            throw new IllegalArgumentException("give the API key once: --api-key (or AFD_API_KEY) or --api-key-file,"
                    + " not both");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the API key file " + file + ": " + e.getMessage(), e);
        }
        String first = lines.isEmpty() ? "" : lines.getFirst().strip();
        if (first.isEmpty()) {
            throw new IllegalArgumentException("the API key file " + file + " is empty; put the key on its first line");
        }
        return first;
    }
}
