package dev.afd.attention.kv;

import dev.afd.model.tensor.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.function.IntUnaryOperator;

/**
 * Hashes full KV blocks into {@link BlockHash} chains: block i's hash covers the hash of block i-1 and block i's token
 * ids; the chain starts from a seed of the model fingerprint, the KV element type and the block size, so blocks of
 * another model or layout never match.
 *
 * <p>SHA-256 (first 128 bits), not a fast non-cryptographic hash: prompts come from clients, and a client that could
 * make its block collide with another client's prefix would feed that client's request its keys and values.
 * Hashing a 16-token block takes well under a microsecond, against milliseconds to compute the block.
 *
 * <p>Threading: not thread-safe (it reuses one digest); the engine thread owns it.
 */
public final class BlockHasher {
    private final MessageDigest digest;
    private final BlockHash seed;
    private final int blockSize;
    private final ByteBuffer input;

    public BlockHasher(String modelFingerprint, DType kvDtype, int blockSize) {
        try {
            this.digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
        this.blockSize = blockSize;
        this.input = ByteBuffer.allocate(16 + 4 * blockSize).order(ByteOrder.LITTLE_ENDIAN);
        this.seed = toHash(digest.digest(("afd kv prefix;" + modelFingerprint + ";"
                + kvDtype.name().toLowerCase(Locale.ROOT) + ";" + blockSize).getBytes(StandardCharsets.UTF_8)));
    }

    /** The parent of block 0. */
    public BlockHash seed() {
        return seed;
    }

    public int blockSize() {
        return blockSize;
    }

    /**
     * The hash of the block holding the tokens at positions {@code [from, from + blockSize)} ({@code tokenAt} maps a
     * position to its token id), after the block hashed {@code parent}.
     */
    public BlockHash next(BlockHash parent, IntUnaryOperator tokenAt, int from) {
        input.clear();
        input.putLong(parent.high()).putLong(parent.low());
        for (int i = 0; i < blockSize; i++) {
            input.putInt(tokenAt.applyAsInt(from + i));
        }
        return toHash(digest.digest(input.array()));
    }

    private static BlockHash toHash(byte[] sha) {
        ByteBuffer b = ByteBuffer.wrap(sha).order(ByteOrder.LITTLE_ENDIAN);
        return new BlockHash(b.getLong(), b.getLong());
    }
}
