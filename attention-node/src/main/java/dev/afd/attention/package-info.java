/**
 * The attention node: continuous-batching scheduler, paged KV cache, attention, router and sampling, and the
 * client side of the per-layer micro-batch pipeline to the ffn-nodes.
 *
 * <p>Until the AFD runtime lands, offline generation runs the same layer math in one process through
 * {@code dev.afd.model}.
 */
package dev.afd.attention;
