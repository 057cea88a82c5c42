package dev.afd.cli;

import dev.afd.proto.WireDtype;
import dev.afd.wire.WireFormat;

/** The wire dtype options, parsed by {@link WireFormat}; a bad value's message names the option. */
final class WireDtypes {
    private WireDtypes() {}

    /** {@code --wire-dtype}: any format. */
    static WireDtype request(String value) {
        return parse("--wire-dtype", value).dtype();
    }

    /** {@code --response-dtype}: a format results may come back in. */
    static WireDtype response(String value) {
        WireFormat f = parse("--response-dtype", value);
        if (!f.isResponse()) {
            throw new IllegalArgumentException("--response-dtype must be " + WireFormat.choices(true) + " (" + f
                    + " is for attention to ffn only)");
        }
        return f.dtype();
    }

    private static WireFormat parse(String option, String value) {
        try {
            return WireFormat.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }
}
