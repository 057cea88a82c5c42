/**
 * The attention node's Prometheus metrics: vLLM's engine metrics under vLLM's names, the AFD exchange with the
 * ffn-nodes, and the JVM's, served on the node's {@code --metrics-port}.
 */
package dev.afd.attention.metrics;
