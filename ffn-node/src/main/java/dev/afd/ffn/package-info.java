/**
 * The ffn-node: holds a range of routed experts plus the shared expert and dense layers, and serves the
 * per-layer {@code Exchange} stream with a CPU (Vector API) or CUDA compute backend.
 */
package dev.afd.ffn;
