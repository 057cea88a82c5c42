package dev.afd.gateway.lifecycle;

import dev.afd.gateway.openai.ApiException;
import dev.afd.gateway.openai.TokenLogprob;
import dev.afd.telemetry.RequestContext;
import java.util.List;

/**
 * What a {@link ChoiceRun} tells the request it belongs to. Every call is made holding the owner's lock (the one the
 * choice was given), so the owner sees its choices' events one at a time.
 */
interface ChoiceOwner {
    /** The request's context, sent with each attention-node call and bound while its events are handled. */
    RequestContext context();

    /** The owner has ended (answered, failed or aborted): a choice's late events are dropped. */
    boolean ended();

    /** A token arrived {@code sinceLastNanos} after the choice's previous one, or as its first (then -1). */
    void tokenArrived(long nowNanos, long sinceLastNanos);

    /** New text of a running choice, and the log-probabilities of the tokens that made it (or null). */
    void output(ChoiceRun choice, String text, List<TokenLogprob> logprobs, int textOffset);

    /** The choice ended normally (finish reason set). */
    void finished(ChoiceRun choice);

    /** The choice failed: the whole request fails. */
    void failed(ApiException e);
}
