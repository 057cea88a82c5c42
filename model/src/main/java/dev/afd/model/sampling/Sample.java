package dev.afd.model.sampling;

import java.util.List;

/** The chosen token, its log-probability, and the most likely alternatives when asked for. */
public record Sample(int token, float logprob, List<TokenLogprob> top) {}
