package dev.afd.ffn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.Handshake;
import dev.afd.proto.HandshakeAccepted;
import dev.afd.proto.ResultFrame;
import dev.afd.proto.WireDtype;
import dev.afd.wire.RowCodec;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FrameProcessorTest {
    private static final ExpertRange RANGE = TinyModel.FRAME_EXPERTS;

    @TempDir
    static Path dir;

    static TinyModel tiny;
    static CpuFfnBackend backend;
    static FrameProcessor processor;

    @BeforeAll
    static void makeModel() throws Exception {
        tiny = new TinyModel(dir);
        backend = tiny.backend(RANGE);
        processor = new FrameProcessor(tiny.config, backend, "ffn 127.0.0.1:6");
    }

    @AfterAll
    static void closeModel() {
        tiny.close();
    }

    /**
     * What the frame's result must be: each unit computed on its own (one row, its one slot or its shared part),
     * encoded in the response dtype. The node computes them together; batch-invariant kernels make that the same.
     */
    static float[] expected(TinyModel tiny, FfnBackend backend, ActivationFrame f, WireDtype responseDtype) {
        int hidden = tiny.hidden();
        float[] x = RowCodec.decode(f.getDtype(), f.getData(), f.getRowScales(), f.getRows(), hidden);
        int units = f.getUnitRowsCount();
        boolean moe = tiny.config.isMoeLayer(f.getLayer());
        float[] out = new float[units * hidden];
        for (int u = 0; u < units; u++) {
            float[] row = Arrays.copyOfRange(x, f.getUnitRows(u) * hidden, (f.getUnitRows(u) + 1) * hidden);
            int e = f.getUnitExperts(u);
            float[] one = moe
                    ? backend.compute(Batches.of(hidden, f.getLayer(), row, 1, e < 0 ? new int[] {0} : new int[0], 1,
                            new int[] {e}, new float[] {f.getUnitWeights(u)}))
                    : backend.compute(Batches.of(hidden, f.getLayer(), row, 1, new int[] {0}, 0, new int[0],
                            new float[0]));
            System.arraycopy(one, 0, out, u * hidden, hidden);
        }
        RowCodec.Encoded e = RowCodec.encode(responseDtype, out, 0, units, hidden);
        return RowCodec.decode(responseDtype, e.data(), e.rowScales(), units, hidden);
    }

    @ParameterizedTest
    @CsvSource({
        "WIRE_F32, WIRE_F32, 1", "WIRE_F32, WIRE_BF16, 2", "WIRE_BF16, WIRE_F32, 0", "WIRE_BF16, WIRE_BF16, 1",
        "WIRE_FP8_E4M3, WIRE_BF16, 2", "WIRE_FP8_E4M3, WIRE_F32, 3"})
    void answersOneResultRowPerUnitInEveryDtype(WireDtype request, WireDtype response, int layer) {
        Random random = new Random(layer * 7L + request.getNumber() * 3L + response.getNumber());
        ActivationFrame f = tiny.frame(42, layer, 13, request, random);
        ResultFrame result = processor.process(f, response);

        int units = f.getUnitRowsCount();
        assertThat(units).isPositive();
        assertThat(result.getError()).isEmpty();
        assertThat(result.getId()).isEqualTo(42);
        assertThat(result.getRows()).isEqualTo(units);
        assertThat(result.getDtype()).isEqualTo(response);
        float[] actual = RowCodec.decode(response, result.getData(), ByteString.EMPTY, units, tiny.hidden());
        assertThat(actual).containsExactly(expected(tiny, backend, f, response));
    }

    @Test
    void groupsAreTheirUnitsAddedInOrder() {
        ActivationFrame f = tiny.frame(7, TinyModel.MOE_LAYER, 5, WireDtype.WIRE_F32, new Random(3));
        int units = f.getUnitRowsCount();
        float[] each = RowCodec.decode(WireDtype.WIRE_F32, processor.process(f, WireDtype.WIRE_F32).getData(),
                ByteString.EMPTY, units, tiny.hidden());
        // Groups of 1, 2, 1, ...: the second group is the sum of units 1 and 2, added in that order.
        ActivationFrame.Builder grouped = f.toBuilder().addGroupSizes(1).addGroupSizes(2);
        for (int u = 3; u < units; u++) {
            grouped.addGroupSizes(1);
        }
        ResultFrame r = processor.process(grouped.build(), WireDtype.WIRE_F32);
        assertThat(r.getError()).isEmpty();
        assertThat(r.getRows()).isEqualTo(units - 1);
        float[] sums = RowCodec.decode(WireDtype.WIRE_F32, r.getData(), ByteString.EMPTY, units - 1, tiny.hidden());
        int h = tiny.hidden();
        for (int d = 0; d < h; d++) {
            assertThat(sums[d]).isEqualTo(each[d]);
            assertThat(sums[h + d]).isEqualTo(each[h + d] + each[2 * h + d]);
            assertThat(sums[2 * h + d]).isEqualTo(each[3 * h + d]);
        }
        assertThat(processor.process(f.toBuilder().addGroupSizes(units + 1).build(), WireDtype.WIRE_F32).getError())
                .contains("group_sizes add up to " + (units + 1) + " units but the frame has " + units);
    }

    private static String errorOf(UnaryOperator<ActivationFrame.Builder> breakIt) {
        ActivationFrame good = tiny.frame(9, TinyModel.MOE_LAYER, 3, WireDtype.WIRE_BF16, new Random(5));
        ResultFrame r = processor.process(breakIt.apply(good.toBuilder()).build(), WireDtype.WIRE_BF16);
        assertThat(r.getId()).isEqualTo(9);
        assertThat(r.getData().isEmpty()).isEqualTo(!r.getError().isEmpty());
        return r.getError();
    }

    @Test
    void badFramesAreAnsweredWithAnErrorNamingTheProblem() {
        String where = "frame 9 (layer 1, micro-batch 1, step 4): ";
        assertThat(errorOf(f -> f)).isEmpty();
        assertThat(errorOf(f -> f.setLayer(4))).isEqualTo("frame 9 (layer 4, micro-batch 1, step 4): layer 4 does"
                + " not exist; the model has layers 0-3");
        assertThat(errorOf(f -> f.setHidden(32))).isEqualTo(where + "hidden is 32 but the model's hidden size is 64");
        assertThat(errorOf(f -> f.setLayer(0))).contains("but layer 0 is dense: its units are the dense MLP");
        assertThat(errorOf(f -> f.addUnitExperts(1))).startsWith(where + "unit_rows, unit_experts and unit_weights"
                + " need one entry per unit each");
        assertThat(errorOf(f -> f.addUnitRows(3).addUnitExperts(-1).addUnitWeights(0))).endsWith("names row 3 but"
                + " the frame has rows 0-2");
        assertThat(errorOf(f -> f.setData(f.getData().substring(2)))).isEqualTo(where + "3 rows of width 64 in bf16"
                + " need 384 bytes of data, got 382");
        assertThat(errorOf(f -> f.setDtype(WireDtype.WIRE_FP8_E4M3).setData(f.getData().substring(192))))
                .isEqualTo(where + "3 rows in fp8-e4m3 need 12 bytes of row scales, got 0");
        assertThat(errorOf(f -> f.setRowScales(ByteString.copyFrom(new byte[12])))).isEqualTo(where
                + "3 rows in bf16 need 0 bytes of row scales, got 12");
        assertThat(errorOf(f -> f.setDtype(WireDtype.WIRE_DTYPE_UNSPECIFIED))).isEqualTo(where
                + "dtype WIRE_DTYPE_UNSPECIFIED is not one of f32, bf16, fp8-e4m3");
        assertThat(errorOf(f -> f.setUnitExperts(1, 6))).contains("expert 6 is outside this node's experts 0-3");
        assertThat(errorOf(f -> f.setRows(-1))).isEqualTo(where + "rows is -1");
    }

    @Test
    void aFrameOfNoRowsHasAnEmptyResult() {
        ActivationFrame f = tiny.frame(1, TinyModel.MOE_LAYER, 0, WireDtype.WIRE_FP8_E4M3, new Random(1));
        ResultFrame r = processor.process(f, WireDtype.WIRE_F32);
        assertThat(r.getError()).isEmpty();
        assertThat(r.getData().isEmpty()).isTrue();
    }

    private static Handshake.Builder handshake() {
        return Handshake.newBuilder().setModelFingerprint(tiny.config.fingerprint())
                .setRequestDtype(WireDtype.WIRE_FP8_E4M3).setResponseDtype(WireDtype.WIRE_BF16)
                .setClient("attention 127.0.0.1:5");
    }

    @Test
    void acceptsAMatchingHandshake() throws Exception {
        HandshakeAccepted a = processor.accept(handshake().build());
        assertThat(a.getModelFingerprint()).isEqualTo(tiny.config.fingerprint());
        assertThat(a.getExpertsList()).containsExactly(0, 1, 2, 3);
        assertThat(a.getNode()).isEqualTo("ffn 127.0.0.1:6");
        assertThat(a.getBackend()).isEqualTo("cpu");
    }

    @Test
    void refusesMismatchesNamingBothSides() {
        String ours = tiny.config.fingerprint();
        assertThatThrownBy(() -> processor.accept(handshake().setModelFingerprint("ab12cd34").build()))
                .isInstanceOf(HandshakeRefusedException.class)
                .hasMessage("attention 127.0.0.1:5 has model fingerprint ab12cd34 but ffn 127.0.0.1:6 serves " + ours
                        + "; start both with the same checkpoint");
        assertThatThrownBy(() -> processor.accept(handshake().setResponseDtype(WireDtype.WIRE_FP8_E4M3).build()))
                .hasMessage("attention 127.0.0.1:5 asks for results as fp8-e4m3 but ffn 127.0.0.1:6 answers in f32"
                        + " or bf16");
        assertThatThrownBy(() -> processor.accept(handshake().clearRequestDtype().clearClient().build()))
                .hasMessage("an unnamed client sends activations as WIRE_DTYPE_UNSPECIFIED but ffn 127.0.0.1:6"
                        + " accepts f32, bf16 or fp8-e4m3");
    }

    @Test
    void resultsNeverGoOutAsFp8() {
        ActivationFrame f = tiny.frame(1, TinyModel.MOE_LAYER, 2, WireDtype.WIRE_F32, new Random(1));
        assertThatThrownBy(() -> processor.process(f, WireDtype.WIRE_FP8_E4M3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("results go out as f32 or bf16, not fp8-e4m3");
    }
}
