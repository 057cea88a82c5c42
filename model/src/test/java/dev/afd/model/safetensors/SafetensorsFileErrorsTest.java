package dev.afd.model.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a single safetensors file can be broken gives a CheckpointException naming the file and the fault. */
class SafetensorsFileErrorsTest {
    @TempDir
    Path dir;

    private final Arena arena = Arena.ofShared();

    @AfterEach
    void close() {
        arena.close();
    }

    private void assertRejected(Path file, String... fragments) {
        assertThatThrownBy(() -> SafetensorsFile.map(file, arena))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContainingAll(fragments);
    }

    private Path raw(String header, long dataBytes) throws IOException {
        return RawFiles.write(dir.resolve("t.safetensors"), header, dataBytes);
    }

    @Test
    void fileShorterThanTheLengthPrefix() throws IOException {
        Path file = Files.write(dir.resolve("short.safetensors"), new byte[] {1, 2, 3, 4, 5});
        assertRejected(file, "5 bytes is too short", "truncated");
        assertRejected(Files.write(dir.resolve("empty.safetensors"), new byte[0]), "0 bytes is too short");
    }

    @Test
    void headerLongerThanTheFile() throws IOException {
        Path file = raw("{}", 0);
        byte[] bytes = Files.readAllBytes(file);
        bytes[0] = (byte) 200; // claim a 200-byte header in a 10-byte file
        Files.write(file, bytes);
        assertRejected(file, "header length 200 is larger than the 2 bytes after it");
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        assertRejected(raw("{\"t\": {\"dtype\": ", 0), "not valid JSON");
        assertRejected(raw("\u0000\u0000\u0000\u0000", 0), "not valid JSON");
    }

    @Test
    void headerThatIsNotAnObject() throws IOException {
        assertRejected(raw("[1, 2]", 0), "must be a JSON object", "ARRAY");
    }

    @Test
    void duplicateTensorNamesInOneHeader() throws IOException {
        String entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        assertRejected(raw("{\"t\":" + entry + ",\"t\":" + entry + "}", 4), "not valid JSON", "Duplicate", "'t'");
    }

    @Test
    void missingOrMalformedFields() throws IOException {
        assertRejected(raw("{\"w\": 3}", 0), "tensor 'w'", "must be described by an object");
        assertRejected(raw("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4), "tensor 'w'", "\"dtype\"");
        assertRejected(raw("{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4), "tensor 'w'", "\"shape\"");
        assertRejected(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4),
                "tensor 'w'", "\"shape\" [-1]", "non-negative");
        assertRejected(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4),
                "tensor 'w'", "\"shape\"");
        assertRejected(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4), "tensor 'w'", "\"data_offsets\"");
        assertRejected(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4),
                "tensor 'w'", "\"data_offsets\"", "array of 2");
        assertRejected(raw("{\"__metadata__\": {\"format\": 1}}", 0), "__metadata__.format must be a string");
    }

    @Test
    void offsetsPastTheEndOfTheData() throws IOException {
        assertRejected(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [100], \"data_offsets\": [0, 400]}}", 8),
                "tensor 'w'", "[0, 400]", "holds only 8 bytes", "truncated");
    }

    @Test
    void endBeforeBegin() throws IOException {
        assertRejected(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8),
                "tensor 'w'", "[8, 0]", "end lies before the begin");
    }

    @Test
    void byteCountThatDoesNotMatchTheShape() throws IOException {
        assertRejected(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8),
                "tensor 'w'", "[3] F32 needs 12 bytes", "span 8");
        assertRejected(raw("{\"w\": {\"dtype\": \"BF16\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}}", 24),
                "tensor 'w'", "[2, 3] BF16 needs 12 bytes", "span 24");
    }

    @Test
    void fp8IsRefusedWithAnActionableMessage() throws IOException {
        assertRejected(raw("{\"w\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4),
                "tensor 'w'", "F8_E4M3", "FP8 checkpoints are not supported yet");
    }

    @Test
    void otherUnknownDtypesNameTheSupportedOnes() throws IOException {
        assertRejected(raw("{\"w\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8),
                "tensor 'w'", "I64", "BF16, F16 and F32");
    }

    @Test
    void aWellFormedHandMadeFileLoads() throws IOException {
        Path file = raw("{\"__metadata__\": {\"format\": \"pt\"}, \"w\": {\"dtype\": \"F32\", \"shape\": [2],"
                + " \"data_offsets\": [0, 8]}}", 8);
        RawFiles.putFloat(file, 4, -2.5f);
        SafetensorsFile f = SafetensorsFile.map(file, arena);
        assertThat(f.tensors().get("w").getFloat(0)).isZero();
        assertThat(f.tensors().get("w").getFloat(1)).isEqualTo(-2.5f);
    }
}
