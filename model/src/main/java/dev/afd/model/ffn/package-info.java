/**
 * The FFN half of a layer, whatever the model family: its data, shared by the attention side, the wire and the
 * ffn-node (a batch of rows and their routing, plain records), the seam between the two halves
 * ({@link dev.afd.model.ffn.FfnExecutor}), and the one CPU computation of it ({@link dev.afd.model.ffn.CpuFfn}).
 */
package dev.afd.model.ffn;
