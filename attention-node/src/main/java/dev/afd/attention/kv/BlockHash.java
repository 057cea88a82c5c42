package dev.afd.attention.kv;

/**
 * What a full KV block holds, as 128 bits of a hash chain: the block's token ids, the hash of the block before it
 * (so equal hashes mean equal whole prefixes, not just equal blocks), and at the start of the chain everything else
 * that decides the block's contents (see {@link BlockHasher}).
 */
public record BlockHash(long high, long low) {}
