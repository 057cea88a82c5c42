package dev.afd.gateway.reasoning;

/**
 * Text split into reasoning and answer.
 *
 * @param reasoning the reasoning, or null for none
 * @param content the answer, or null for none
 */
public record ReasoningSplit(String reasoning, String content) {
    /** Empty parts as null, so that JSON leaves out what is not there. */
    static ReasoningSplit of(String reasoning, String content) {
        return new ReasoningSplit(reasoning.isEmpty() ? null : reasoning, content.isEmpty() ? null : content);
    }

    public boolean isEmpty() {
        return reasoning == null && content == null;
    }
}
