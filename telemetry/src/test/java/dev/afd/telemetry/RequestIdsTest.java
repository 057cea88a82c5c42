package dev.afd.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RequestIdsTest {
    @Test
    void aVisibleAsciiIdIsKept() {
        assertThat(RequestIds.accept("req-42_A.b:c/d")).isEqualTo("req-42_A.b:c/d");
        String longest = "x".repeat(RequestIds.MAX_LENGTH);
        assertThat(RequestIds.accept(longest)).isEqualTo(longest);
    }

    @Test
    void unsafeOrMissingIdsAreReplacedByFreshOnes() {
        for (String bad : new String[] {null, "", "has space", "line\nbreak", "tab\t", "caf\u00e9",
                "x".repeat(RequestIds.MAX_LENGTH + 1)}) {
            String id = RequestIds.accept(bad);
            assertThat(id).isNotEqualTo(bad).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
        }
        assertThat(RequestIds.generate()).isNotEqualTo(RequestIds.generate());
    }

    @Test
    void aContextIsBoundOnlyWithinItsCall() throws Exception {
        RequestContext context = RequestContext.of("abc");
        assertThat(RequestContext.current()).isNull();
        String[] onOtherThread = {"unset"};
        context.run(() -> {
            assertThat(RequestContext.current()).isEqualTo(context);
            Thread t = Thread.ofPlatform().start(() -> onOtherThread[0] = String.valueOf(RequestContext.current()));
            try {
                t.join();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        assertThat(onOtherThread[0]).as("not inherited by other threads").isEqualTo("null");
        assertThat(RequestContext.current()).isNull();
        assertThat(context.call(() -> RequestContext.current().requestId())).isEqualTo("abc");
    }
}
