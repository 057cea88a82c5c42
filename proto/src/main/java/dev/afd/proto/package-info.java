/**
 * The gRPC contracts between the gateway, attention nodes and ffn-nodes.
 *
 * <p>The {@code .proto} files and their generated stubs arrive with the AFD runtime; until then this module only
 * fixes its place in the build so every other module can depend on it.
 */
package dev.afd.proto;
