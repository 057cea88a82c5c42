package dev.afd.model.family;

import dev.afd.model.kv.SequenceKv;

/**
 * Tokens of one sequence at consecutive positions {@code start, start+1, ...}; its cache must already hold positions
 * {@code [0, start)}.
 */
public record Chunk(SequenceKv kv, int[] tokens, int start, boolean wantLogits) {}
