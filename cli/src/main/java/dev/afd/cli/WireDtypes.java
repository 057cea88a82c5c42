package dev.afd.cli;

import dev.afd.proto.WireDtype;
import java.util.Locale;

/** User-facing names of wire dtypes: f32, bf16, fp8. */
final class WireDtypes {
    private WireDtypes() {}

    static WireDtype request(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "f32" -> WireDtype.WIRE_F32;
            case "bf16" -> WireDtype.WIRE_BF16;
            case "fp8", "fp8-e4m3" -> WireDtype.WIRE_FP8_E4M3;
            default -> throw new IllegalArgumentException("--wire-dtype must be f32, bf16 or fp8, got '" + name + "'");
        };
    }

    static WireDtype response(String name) {
        WireDtype d = request(name);
        if (d == WireDtype.WIRE_FP8_E4M3) {
            throw new IllegalArgumentException("--response-dtype must be f32 or bf16 (fp8 is for attention to ffn only)");
        }
        return d;
    }
}
