package dev.afd.model.sampling;

/** A token and its log-probability under the model's raw (unpenalised, untempered) distribution. */
public record TokenLogprob(int token, float logprob) {}
