package dev.afd.gateway.toolcalls;

/**
 * The request's {@code tool_choice}.
 *
 * @param mode what the model may or must do
 * @param function the function a {@link Mode#NAMED} choice forces, else null
 */
public record ToolChoice(Mode mode, String function) {
    public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
    public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
    public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

    public enum Mode {
        /** No calls: the answer is text (the tools still reach the chat template). */
        NONE,
        /** The model decides; its calls are parsed out of free text by {@code --tool-call-parser}. */
        AUTO,
        /** At least one call, enforced by constrained decoding. */
        REQUIRED,
        /** One call to {@link ToolChoice#function()}, its arguments enforced by constrained decoding. */
        NAMED
    }
}
