package dev.afd.ffn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.core.ExpertSet;
import dev.afd.ffn.core.FfnBackend;
import dev.afd.ffn.core.FrameProcessor;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.step3.Step3Config;
import dev.afd.proto.ActivationFrame;
import dev.afd.proto.ExchangeRequest;
import dev.afd.proto.ExchangeResponse;
import dev.afd.proto.Handshake;
import dev.afd.proto.WireDtype;
import dev.afd.wire.RowCodec;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The manual flow control of one stream, step by step, against a scripted call and a hand-run executor. */
class ExchangeStreamTest {
    private static final Step3Config CONFIG = (Step3Config) ModelPreset.TINY.config(false);
    private static final int MAX_IN_FLIGHT = 3;

    /** A call whose readiness the test sets, recording what the stream does with it. */
    static final class ScriptedCall extends ServerCallStreamObserver<ExchangeResponse> {
        final List<ExchangeResponse> sent = new ArrayList<>();
        boolean ready = true;
        boolean autoRequestDisabled;
        int requested;
        Throwable error;
        boolean completed;
        Runnable onReady;
        Runnable onCancel;

        @Override
        public void disableAutoRequest() {
            autoRequestDisabled = true;
        }

        @Override
        public void request(int count) {
            requested += count;
        }

        @Override
        public boolean isReady() {
            return ready;
        }

        @Override
        public void setOnReadyHandler(Runnable handler) {
            onReady = handler;
        }

        @Override
        public void setOnCancelHandler(Runnable handler) {
            onCancel = handler;
        }

        @Override
        public void onNext(ExchangeResponse value) {
            assertThat(ready).as("sent only when the transport is ready, or the handshake reply").isTrue();
            assertThat(error == null && !completed).as("nothing after the end").isTrue();
            sent.add(value);
        }

        @Override
        public void onError(Throwable t) {
            assertThat(error == null && !completed).as("one end only").isTrue();
            error = t;
        }

        @Override
        public void onCompleted() {
            assertThat(error == null && !completed).as("one end only").isTrue();
            completed = true;
        }

        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public void setCompression(String compression) {}

        @Override
        public void disableAutoInboundFlowControl() {
            autoRequestDisabled = true;
        }

        @Override
        public void setMessageCompression(boolean enable) {}
    }

    /** Answers every row with the layer index; counts its calls; fails on layer 3, runs out of memory when told. */
    static final class CountingBackend implements FfnBackend {
        final AtomicInteger calls = new AtomicInteger();
        volatile boolean outOfMemory;

        @Override
        public float[] compute(FfnBatch batch) {
            int layer = batch.layer();
            calls.incrementAndGet();
            if (outOfMemory) {
                throw new OutOfMemoryError("Java heap space");
            }
            if (layer == 3) {
                throw new IllegalStateException("weights unmapped");
            }
            float[] out = new float[batch.rows() * CONFIG.hiddenSize()];
            java.util.Arrays.fill(out, layer);
            return out;
        }

        @Override
        public ExpertSet experts() {
            return ExpertSet.of(new ExpertRange(0, 7));
        }

        @Override
        public String name() {
            return "counting";
        }
    }

    private final ScriptedCall call = new ScriptedCall();
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private final CountingBackend backend = new CountingBackend();
    private final List<Error> fatal = new ArrayList<>();
    private final ExchangeStream stream = new ExchangeStream(new FrameProcessor(CONFIG, backend, "ffn test"),
            tasks::add, call, MAX_IN_FLIGHT, fatal::add, over -> { }, (frame, nanos) -> { });

    private static ExchangeRequest frame(long id, int layer) {
        int rows = 2;
        RowCodec.Encoded e = RowCodec.encode(WireDtype.WIRE_F32, new float[rows * CONFIG.hiddenSize()], 0, rows,
                CONFIG.hiddenSize());
        ActivationFrame.Builder f = ActivationFrame.newBuilder().setId(id).setLayer(layer).setRows(rows)
                .setHidden(CONFIG.hiddenSize()).setDtype(WireDtype.WIRE_F32).setData(e.data());
        for (int r = 0; r < rows; r++) {
            f.addUnitRows(r).addUnitExperts(-1).addUnitWeights(0);
        }
        return ExchangeRequest.newBuilder().setFrame(f).build();
    }

    private void shakeHands() {
        stream.onNext(ExchangeRequest.newBuilder().setHandshake(Handshake.newBuilder()
                .setModelFingerprint(CONFIG.fingerprint()).setRequestDtype(WireDtype.WIRE_F32)
                .setResponseDtype(WireDtype.WIRE_F32).setClient("attention test")).build());
    }

    private void runTasks() {
        while (!tasks.isEmpty()) {
            tasks.poll().run();
        }
    }

    @Test
    void readsOnlyWhileThereIsRoomAndTheClientReads() {
        assertThat(call.autoRequestDisabled).isTrue();
        assertThat(call.requested).as("the handshake").isEqualTo(1);
        shakeHands();
        assertThat(call.sent).hasSize(1);
        assertThat(call.sent.getFirst().hasAccepted()).isTrue();
        assertThat(call.requested).isEqualTo(2);

        stream.onNext(frame(1, 0));
        stream.onNext(frame(2, 1));
        assertThat(call.requested).isEqualTo(4);
        stream.onNext(frame(3, 2));
        assertThat(call.requested).as("three frames in flight: no more").isEqualTo(4);
        assertThat(backend.calls).as("computed by the executor, not inside onNext").hasValue(0);

        call.ready = false;
        runTasks();
        assertThat(backend.calls).hasValue(3);
        assertThat(call.sent).as("results wait for the transport").hasSize(1);
        assertThat(call.requested).isEqualTo(4);

        call.ready = true;
        call.onReady.run();
        assertThat(call.sent).hasSize(4);
        assertThat(call.sent.subList(1, 4)).extracting(r -> r.getResult().getId()).containsExactly(1L, 2L, 3L);
        assertThat(RowCodec.decode(WireDtype.WIRE_F32, call.sent.get(2).getResult().getData(),
                com.google.protobuf.ByteString.EMPTY, 2, CONFIG.hiddenSize())).containsOnly(1f);
        assertThat(call.requested).as("room again").isEqualTo(5);

        stream.onNext(frame(4, 0));
        stream.onCompleted();
        assertThat(call.completed).as("a result is still due").isFalse();
        runTasks();
        assertThat(call.sent).hasSize(5);
        assertThat(call.completed).isTrue();
        assertThat(call.error).isNull();
    }

    @Test
    void aCancelledStreamSkipsQueuedFramesAndSendsNothing() {
        shakeHands();
        stream.onNext(frame(1, 0));
        stream.onNext(frame(2, 0));
        call.onCancel.run();
        runTasks();
        assertThat(backend.calls).hasValue(0);
        assertThat(call.sent).hasSize(1);
        assertThat(call.error).isNull();
        assertThat(call.completed).isFalse();
    }

    @Test
    void aClientErrorReleasesTheStream() {
        shakeHands();
        stream.onNext(frame(1, 0));
        stream.onError(Status.CANCELLED.asRuntimeException());
        runTasks();
        assertThat(backend.calls).hasValue(0);
        assertThat(call.error).isNull();
    }

    @Test
    void runningOutOfMemoryFailsTheStreamAndStopsTheNode() {
        shakeHands();
        backend.outOfMemory = true;
        stream.onNext(frame(5, 0));
        stream.onNext(frame(6, 0));
        runTasks();
        Status status = Status.fromThrowable(call.error);
        assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(status.getDescription()).isEqualTo("ffn test ran out of memory computing frame 5 and stops serving");
        assertThat(fatal).singleElement().isInstanceOf(OutOfMemoryError.class);
        assertThat(backend.calls).as("frame 6 was skipped").hasValue(1);
    }

    @Test
    void aFailingBackendFailsTheStreamNamingTheFrame() {
        shakeHands();
        stream.onNext(frame(8, 3));
        stream.onNext(frame(9, 0));
        runTasks();
        Status status = Status.fromThrowable(call.error);
        assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(status.getDescription()).isEqualTo("frame 8 failed on ffn test:"
                + " java.lang.IllegalStateException: weights unmapped");
        assertThat(backend.calls).as("frame 9 was skipped").hasValue(1);
        assertThat(call.sent).hasSize(1);
    }
}
