package dev.afd.attention.kv;

import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * The {@link BlockHash}es of one sequence's full blocks, computed when first asked for and kept: a sequence only
 * ever appends tokens, so a block's hash never changes (preemption drops the sequence's blocks, not its hashes).
 *
 * <p>Threading: owned by the engine thread, like its sequence.
 */
public final class BlockHashChain {
    private final BlockHasher hasher;
    private final IntUnaryOperator tokenAt;
    private BlockHash[] hashes = new BlockHash[4];
    private int count;

    /** @param tokenAt the sequence's token at a position; positions already hashed must never change */
    public BlockHashChain(BlockHasher hasher, IntUnaryOperator tokenAt) {
        this.hasher = hasher;
        this.tokenAt = tokenAt;
    }

    /** The hash of block {@code block}; the sequence must hold its {@code blockSize} tokens. */
    public BlockHash get(int block) {
        while (count <= block) {
            if (count == hashes.length) {
                hashes = Arrays.copyOf(hashes, 2 * hashes.length);
            }
            BlockHash parent = count == 0 ? hasher.seed() : hashes[count - 1];
            hashes[count] = hasher.next(parent, tokenAt, count * hasher.blockSize());
            count++;
        }
        return hashes[block];
    }
}
