/**
 * How the gRPC links between processes are secured: plaintext by default, mutual TLS when a node is given its
 * certificate, key and the certificate authority it trusts.
 */
package dev.afd.transport;
