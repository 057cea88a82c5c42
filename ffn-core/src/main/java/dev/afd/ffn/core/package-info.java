/**
 * What both sides of the attention-FFN wire need and nothing more: the FFN compute interface and its CPU backend, the
 * expert range a node holds, and the frame processor that turns an activation frame into its result. No gRPC server
 * and no CUDA here: the ffn-node serves these over gRPC, and a single-process run calls them in process.
 */
package dev.afd.ffn.core;
