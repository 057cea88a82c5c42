package dev.afd.gateway.openai;

import java.util.List;
import java.util.Map;

/**
 * A {@code POST /tokenize} request: either {@code prompt} text or chat {@code messages} (rendered with the chat
 * template first).
 *
 * @param addSpecialTokens let the tokenizer add its special tokens (bos); default true for text, false for messages
 * @param returnTokenStrs also return each token's text
 */
public record TokenizeRequest(String model, String prompt, List<Map<String, Object>> messages,
        boolean addSpecialTokens, boolean addGenerationPrompt, boolean returnTokenStrs) {}
