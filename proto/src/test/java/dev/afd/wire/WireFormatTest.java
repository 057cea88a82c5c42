package dev.afd.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.proto.WireDtype;
import org.junit.jupiter.api.Test;

class WireFormatTest {
    @Test
    void parsesNamesAndTheShortFp8() {
        assertThat(WireFormat.parse("f32")).isEqualTo(WireFormat.F32);
        assertThat(WireFormat.parse(" BF16 ")).isEqualTo(WireFormat.BF16);
        assertThat(WireFormat.parse("fp8")).isEqualTo(WireFormat.FP8_E4M3);
        assertThat(WireFormat.parse("fp8-e4m3")).isEqualTo(WireFormat.FP8_E4M3);
        assertThatThrownBy(() -> WireFormat.parse("f16")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("wire dtype must be f32, bf16 or fp8-e4m3, got 'f16'");
    }

    @Test
    void knowsEachFormatsDtypeSizeAndDirection() {
        for (WireFormat f : WireFormat.values()) {
            assertThat(WireFormat.of(f.dtype())).isEqualTo(f);
            assertThat(WireFormat.label(f.dtype())).isEqualTo(f.toString());
        }
        assertThat(WireFormat.F32.dataBytes(3, 5)).isEqualTo(60);
        assertThat(WireFormat.BF16.dataBytes(3, 5)).isEqualTo(30);
        assertThat(WireFormat.FP8_E4M3.dataBytes(3, 5)).isEqualTo(15);
        assertThat(WireFormat.FP8_E4M3.scaleBytes(3)).isEqualTo(12);
        assertThat(WireFormat.BF16.scaleBytes(3)).isZero();
        assertThat(WireFormat.isResponse(WireDtype.WIRE_BF16)).isTrue();
        assertThat(WireFormat.isResponse(WireDtype.WIRE_FP8_E4M3)).isFalse();
        assertThat(WireFormat.isRequest(WireDtype.WIRE_DTYPE_UNSPECIFIED)).isFalse();
        assertThat(WireFormat.label(WireDtype.WIRE_DTYPE_UNSPECIFIED)).isEqualTo("WIRE_DTYPE_UNSPECIFIED");
        assertThat(WireFormat.choices(true)).isEqualTo("f32 or bf16");
        assertThat(WireFormat.list()).isEqualTo("f32, bf16, fp8-e4m3");
    }
}
