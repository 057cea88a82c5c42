package dev.afd.cli;

import dev.afd.proto.WireDtype;
import dev.afd.wire.WireFormat;

/** The wire dtype options: {@link WireFormat}'s names, with messages that name the option. */
final class WireDtypes {
    private WireDtypes() {}

    static WireDtype request(String name) {
        try {
            return WireFormat.parse(name).dtype();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--wire-dtype must be f32, bf16 or fp8, got '" + name + "'", e);
        }
    }

    static WireDtype response(String name) {
        WireFormat f = WireFormat.parse(name);
        if (!f.isResponse()) {
            throw new IllegalArgumentException("--response-dtype must be " + WireFormat.choices(true) + " (" + f
                    + " is for attention to ffn only)");
        }
        return f.dtype();
    }
}
