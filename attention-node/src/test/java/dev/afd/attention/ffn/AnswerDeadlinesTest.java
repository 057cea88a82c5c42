package dev.afd.attention.ffn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class AnswerDeadlinesTest {
    @Test
    void anAnswerThatDoesNotComeFailsOnceItsDeadlineHasPassed() {
        long start = System.nanoTime();
        CompletableFuture<String> answer = AnswerDeadlines.watch(new CompletableFuture<>(), Duration.ofMillis(100));
        assertThatThrownBy(() -> answer.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(TimeoutException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(100));
    }

    @Test
    void anAnswerInTimeIsLeftAlone() throws Exception {
        CompletableFuture<String> answer = AnswerDeadlines.watch(new CompletableFuture<>(), Duration.ofMillis(50));
        answer.complete("result");
        Thread.sleep(50 + 5 * AnswerDeadlines.RESOLUTION.toMillis());
        assertThat(answer.get()).isEqualTo("result");
    }

    @Test
    void deadlinesFireInTheirOwnOrder() {
        CompletableFuture<String> late = AnswerDeadlines.watch(new CompletableFuture<>(), Duration.ofSeconds(30));
        CompletableFuture<String> soon = AnswerDeadlines.watch(new CompletableFuture<>(), Duration.ofMillis(50));
        assertThatThrownBy(() -> soon.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(TimeoutException.class);
        assertThat(late).isNotDone();
        late.complete("in time");
    }
}
