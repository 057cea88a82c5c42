package dev.afd.model.tensor;

import java.util.Locale;

/**
 * Element types a weight tensor may be stored in. Weights stay in their stored type; kernels widen to f32.
 */
public enum DType {
    BF16(2, "BF16"),
    F16(2, "F16"),
    F32(4, "F32");

    private final int byteSize;
    private final String safetensorsCode;

    DType(int byteSize, String safetensorsCode) {
        this.byteSize = byteSize;
        this.safetensorsCode = safetensorsCode;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The dtype string used in safetensors headers ({@code "BF16"}, {@code "F16"}, {@code "F32"}). */
    public String safetensorsCode() {
        return safetensorsCode;
    }

    /**
     * Maps a safetensors dtype string to a {@link DType}.
     *
     * @throws UnsupportedDTypeException for FP8 and every other type we cannot compute with yet, with a message
     *     a user can act on
     */
    public static DType fromSafetensors(String code, String tensorName) {
        for (DType t : values()) {
            if (t.safetensorsCode.equals(code)) {
                return t;
            }
        }
        String upper = code.toUpperCase(Locale.ROOT);
        if (upper.startsWith("F8")) {
            throw new UnsupportedDTypeException("tensor '" + tensorName + "' is stored as " + code
                    + ": FP8 checkpoints are not supported yet; use the BF16 release of the model");
        }
        throw new UnsupportedDTypeException("tensor '" + tensorName + "' has dtype " + code
                + ", which is not supported; supported dtypes are BF16, F16 and F32");
    }

    /** Parses a user-facing name such as {@code f32} or {@code bf16}. */
    public static DType parse(String name) {
        for (DType t : values()) {
            if (t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + name + "'; expected one of bf16, f16, f32");
    }

    /** Raised when a checkpoint holds a tensor type the engine cannot compute with. */
    public static final class UnsupportedDTypeException extends RuntimeException {
        public UnsupportedDTypeException(String message) {
            super(message);
        }
    }
}
