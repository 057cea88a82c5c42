package dev.afd.wire;

import dev.afd.model.sampling.LogitControls;
import dev.afd.proto.GenerateRequest;

/**
 * {@link LogitControls} on the wire ({@code logit_bias}, {@code allowed_token_ids} of {@link GenerateRequest}): the
 * one mapping the gateway and the attention node share.
 */
public final class LogitControlsWire {
    private LogitControlsWire() {}

    public static void write(LogitControls c, GenerateRequest.Builder b) {
        b.putAllLogitBias(c.bias());
        if (c.allowedTokenIds() != null) {
            for (int id : c.allowedTokenIds()) {
                b.addAllowedTokenIds(id);
            }
        }
    }

    /**
     * @throws dev.afd.model.sampling.SamplingParams.InvalidSamplingException naming the field when a value is out of
     *     range
     */
    public static LogitControls read(GenerateRequest r) {
        if (r.getLogitBiasCount() == 0 && r.getAllowedTokenIdsCount() == 0) {
            return LogitControls.NONE;
        }
        int[] allowed = r.getAllowedTokenIdsCount() == 0 ? null
                : r.getAllowedTokenIdsList().stream().mapToInt(Integer::intValue).toArray();
        return new LogitControls(r.getLogitBiasMap(), allowed);
    }
}
