package dev.afd.bench.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** SSE framing and chunk reading, fed byte by byte with chosen timestamps. */
class ServeStreamParsingTest {
    private static final String CHAT = String.join("", ": keep-alive comment\r\n\r\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n",
            "data:{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n",
            "event: message\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":4,\"total_tokens\":15}}\n\n",
            "data: [DONE]\n\n", "data: {\"ignored\": \"after done\"}\n\n");

    @Test
    void chunksAreStampedWhenTheirLineEndsWhereverTheBytesAreSplit() {
        byte[] bytes = CHAT.getBytes(StandardCharsets.UTF_8);
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 200; trial++) {
            StreamRecorder recorder = new StreamRecorder(1_000, 3);
            // Deliver in random pieces; each piece's arrival time is the offset of its last byte, so a chunk's
            // stamp is the arrival of the piece holding its line end.
            int at = 0;
            while (at < bytes.length) {
                int n = 1 + random.nextInt(Math.min(40, bytes.length - at));
                recorder.onBytes(ByteBuffer.wrap(bytes, at, n), 10_000L + at + n);
                at += n;
            }
            recorder.onEnd(999_999);
            RequestOutcome o = recorder.outcome().join();
            assertThat(o.ok()).isTrue();
            assertThat(o.outputTokens()).isEqualTo(4);
            assertThat(o.inputTokens()).isEqualTo(11);
            long hel = lineEnd("Hel");
            long hmm = lineEnd("hmm");
            long lo = lineEnd("\"lo\"");
            assertThat(o.ttftNanos()).isBetween(10_000L + hel - 1_000, 10_000L + hel + 40 - 1_000);
            assertThat(o.itlNanos()).hasSize(2);
            assertThat(o.itlNanos()[0] + o.itlNanos()[1]).isBetween(lo - hel - 40, lo - hel + 40);
            assertThat(o.itlNanos()[0]).isLessThanOrEqualTo(hmm - hel + 40);
            assertThat(o.endNanos()).isLessThan(999_999);
        }
    }

    @Test
    void errorChunksAndTruncatedStreamsAreStreamErrors() {
        assertThat(feed("data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {\"error\":{\"message\":\"engine died\"}}\n\n")
                .failure()).isEqualTo(new RequestOutcome.Failure(RequestOutcome.Kind.STREAM_ERROR, 0, "engine died"));
        assertThat(feed("data: {\"object\":\"error\",\"message\":\"old style\",\"code\":500}\n\n").failure().message())
                .isEqualTo("old style");
        assertThat(feed("data: {\"choices\":[{\"text\":\"a\"}]}\n\n").failure().message())
                .isEqualTo("the stream ended before data: [DONE]");
        assertThat(feed("data: not json\n\n").failure().message()).startsWith("a chunk is not JSON: not json");
        assertThat(feed("data: [DONE]\n\n").failure().message()).contains("without any output");
    }

    @Test
    void aStreamOfEmptyTextStillHasAFirstTokenAndCountsFromUsage() {
        RequestOutcome o = feed("data: {\"choices\":[{\"text\":\"\"}]}\n\ndata: {\"choices\":[],\"usage\":"
                + "{\"prompt_tokens\":2,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n");
        assertThat(o.ok()).isTrue();
        assertThat(o.outputTokens()).isEqualTo(1);
        assertThat(o.itlNanos()).isEmpty();
        assertThat(o.tpotMs()).isNaN();
    }

    @Test
    void httpErrorBodiesGiveTheirOpenAiMessage() {
        assertThat(StreamRecorder.errorMessage("{\"error\":{\"message\":\"The model `x` does not exist.\"}}"
                .getBytes(StandardCharsets.UTF_8))).isEqualTo("The model `x` does not exist.");
        assertThat(StreamRecorder.errorMessage("{\"error\":\"Unauthorized\"}".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("Unauthorized");
        assertThat(StreamRecorder.errorMessage("{\"object\":\"error\",\"message\":\"flat\"}"
                .getBytes(StandardCharsets.UTF_8))).isEqualTo("flat");
        assertThat(StreamRecorder.errorMessage("<html>Bad Gateway</html>".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("<html>Bad Gateway</html>");
        assertThat(StreamRecorder.errorMessage(new byte[0])).isEqualTo("(empty body)");
    }

    private static RequestOutcome feed(String stream) {
        StreamRecorder recorder = new StreamRecorder(0, -1);
        recorder.onBytes(ByteBuffer.wrap(stream.getBytes(StandardCharsets.UTF_8)), 5);
        recorder.onEnd(6);
        return recorder.outcome().join();
    }

    /** Offset just past the newline ending the line that contains {@code marker}. */
    private static long lineEnd(String marker) {
        int i = CHAT.indexOf(marker);
        return CHAT.indexOf('\n', i) + 1;
    }
}
