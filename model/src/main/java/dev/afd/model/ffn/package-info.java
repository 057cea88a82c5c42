/**
 * The data of the FFN half of a layer, shared by the attention side, the wire and the ffn-node: a batch of rows and
 * their routing. Plain records; no kernels, no weights.
 */
package dev.afd.model.ffn;
