package dev.afd.gateway.openai;

/**
 * A request that cannot be served, with everything the OpenAI error body needs:
 * {@code {"error":{"message","type","param","code"}}} and the HTTP status to send it with.
 *
 * @see OpenAiJson#error(ApiException)
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final Integer retryAfterSeconds;

    private ApiException(int status, String type, String param, String code, String message, Integer retryAfter) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfter;
    }

    /** 400: the request is malformed or a value is out of range; {@code param} names the field (may be null). */
    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "BadRequestError", param, null, message, null);
    }

    /** 401: an API key is configured and the request's is missing or wrong. */
    public static ApiException unauthorized(String message) {
        return new ApiException(401, "AuthenticationError", null, "invalid_api_key", message, null);
    }

    /** 404: no such model or route. */
    public static ApiException notFound(String param, String message) {
        return new ApiException(404, "NotFoundError", param, null, message, null);
    }

    /** 405: the route exists but not with this method. */
    public static ApiException methodNotAllowed(String message) {
        return new ApiException(405, "MethodNotAllowedError", null, null, message, null);
    }

    /** 413: the body is over the size limit. */
    public static ApiException tooLarge(String message) {
        return new ApiException(413, "RequestTooLargeError", null, null, message, null);
    }

    /**
     * An error the HTTP layer answers by itself: 400 (malformed), 408 (too slow), 413 (body too large), 414 (URL too
     * long), 431 (headers too large) or 503 (busy, with {@code Retry-After}).
     */
    public static ApiException ofStatus(int status, String message) {
        return switch (status) {
            case 400 -> badRequest(null, message);
            case 413 -> tooLarge(message);
            case 503 -> unavailable(message, 1);
            case 408 -> new ApiException(408, "RequestTimeoutError", null, null, message, null);
            case 414 -> new ApiException(414, "URITooLongError", null, null, message, null);
            case 431 -> new ApiException(431, "RequestHeaderFieldsTooLargeError", null, null, message, null);
            default -> new ApiException(status, "HTTPError", null, null, message, null);
        };
    }

    /** 503 with {@code Retry-After}: overloaded, draining, or no attention node ready. */
    public static ApiException unavailable(String message, int retryAfterSeconds) {
        return new ApiException(503, "ServiceUnavailableError", null, null, message, retryAfterSeconds);
    }

    /** 500: a fault of this server; {@code errorId} is logged with the cause so the two can be matched. */
    public static ApiException internal(String errorId, String message) {
        return new ApiException(500, "InternalServerError", null, errorId, message + " (error id " + errorId
                + "; search the gateway log for it)", null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    /** The request field at fault, or null. */
    public String param() {
        return param;
    }

    /** A machine-readable code, or null. */
    public String code() {
        return code;
    }

    /** Seconds a client should wait before retrying, or null when retrying will not help. */
    public Integer retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
