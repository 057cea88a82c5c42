package dev.afd.gateway.lifecycle;

import dev.afd.gateway.openai.ApiException;
import io.grpc.Status;
import java.lang.System.Logger.Level;
import java.util.UUID;

/**
 * What a failed attention-node call means to the client: the node's refusal of the request is the client's error
 * (400), a node that is down, full or shutting down is a retryable 503, anything else is a fault (500) whose id is
 * logged with the full status.
 */
public final class NodeErrors {
    private static final System.Logger LOG = System.getLogger(NodeErrors.class.getName());

    private NodeErrors() {}

    /** Whether another node may succeed where this one failed (before any output). */
    static boolean retryable(Status s) {
        return s.getCode() == Status.Code.UNAVAILABLE || s.getCode() == Status.Code.FAILED_PRECONDITION;
    }

    static ApiException toApi(Status s, String node, String requestId) {
        String what = "attention node " + node + ": " + s.getCode()
                + (s.getDescription() == null ? "" : ": " + s.getDescription());
        return switch (s.getCode()) {
            case INVALID_ARGUMENT, OUT_OF_RANGE -> ApiException.badRequest(null, s.getDescription() == null
                    ? what : s.getDescription());
            case UNAVAILABLE, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, CANCELLED, ABORTED ->
                    ApiException.unavailable(what + "; retry shortly", 1);
            default -> internal("request " + requestId + " failed on " + what, s.getCause());
        };
    }

    /** A 500 whose id finds {@code detail} (and the cause's stack) in the log. */
    public static ApiException internal(String detail, Throwable cause) {
        String id = UUID.randomUUID().toString().substring(0, 13);
        LOG.log(Level.ERROR, "error " + id + ": " + detail, cause);
        return ApiException.internal(id, "internal error");
    }
}
