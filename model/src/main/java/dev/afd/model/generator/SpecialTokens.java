package dev.afd.model.generator;

import java.util.List;

/**
 * The special tokens of a generated model and their ids: the last four ids of the vocabulary, after every byte-level
 * BPE token.
 *
 * @param beginOfText {@code <|begin_of_text|>}, the bos token
 * @param endOfText {@code <|end_of_text|>}, the eos token of config.json
 * @param imStart {@code <|im_start|>}, opens a chat turn
 * @param imEnd {@code <|im_end|>}, closes a chat turn; also ends generation
 */
public record SpecialTokens(int beginOfText, int endOfText, int imStart, int imEnd) {
    public static final String BEGIN_OF_TEXT = "<|begin_of_text|>";
    public static final String END_OF_TEXT = "<|end_of_text|>";
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";
    /** In id order. */
    public static final List<String> CONTENTS = List.of(BEGIN_OF_TEXT, END_OF_TEXT, IM_START, IM_END);

    public static SpecialTokens forVocab(int vocabSize) {
        int first = vocabSize - CONTENTS.size();
        if (first < ByteLevel.BYTES) {
            throw new IllegalArgumentException("vocab_size " + vocabSize + " is too small: a byte-level tokenizer"
                    + " needs " + ByteLevel.BYTES + " byte tokens plus " + CONTENTS.size() + " special tokens");
        }
        return new SpecialTokens(first, first + 1, first + 2, first + 3);
    }

    /** Every id that ends generation, as generation_config.json lists them. */
    public List<Integer> eosTokenIds() {
        return List.of(endOfText, imEnd);
    }

    /** The id of each entry of {@link #CONTENTS}. */
    public List<Integer> ids() {
        return List.of(beginOfText, endOfText, imStart, imEnd);
    }
}
