package dev.afd.gateway.routing;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Which attention node a prompt's prefix belongs to, by rendezvous (highest random weight) hashing: the prompt's key
 * is a hash of its first {@value #KEY_BLOCKS} blocks of {@value #BLOCK} tokens (as many whole blocks as it has, when
 * fewer), every node scores {@code mix(key, node)}, and the highest score wins. Prompts that start alike therefore
 * go to the node whose prefix cache holds their start, every gateway picks the same node without sharing any state,
 * and a node joining or leaving moves only the keys it wins or won.
 *
 * <p>The blocks match the attention nodes' KV blocks (16 positions), so prompts sharing whole cached blocks share
 * a key. Four blocks rather than one: prompts whose first block is only a chat template's opening would otherwise
 * all land on one node.
 *
 * <p>Not a security boundary (a client can only steer its own requests), so a fast 64-bit mix, not a digest.
 * Stateless and thread-safe.
 */
final class PrefixAffinity {
    static final int BLOCK = 16;
    static final int KEY_BLOCKS = 4;

    private PrefixAffinity() {}

    /** Whether {@code prompt} has a key: at least one whole block. */
    static boolean hasKey(List<Integer> prompt) {
        return prompt.size() >= BLOCK;
    }

    /** The key of a prompt with at least one whole block. */
    static long key(List<Integer> prompt) {
        int tokens = Math.min(KEY_BLOCKS, prompt.size() / BLOCK) * BLOCK;
        long h = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < tokens; i++) {
            h = mix(h ^ prompt.get(i));
        }
        return h;
    }

    /** Node {@code target}'s weight for {@code key}; the prompt goes to the node with the highest. */
    static long weight(long key, String target) {
        long node = 0xC2B2AE3D27D4EB4FL;
        for (byte b : target.getBytes(StandardCharsets.UTF_8)) {
            node = mix(node ^ b);
        }
        return mix(key ^ node);
    }

    /** The finaliser of SplitMix64: every input bit flips about half the output bits. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
