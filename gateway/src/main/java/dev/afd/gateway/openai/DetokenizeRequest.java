package dev.afd.gateway.openai;

/** A {@code POST /detokenize} request. */
public record DetokenizeRequest(String model, int[] tokens) {}
