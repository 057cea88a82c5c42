package dev.afd.model.family;

import java.util.List;

/**
 * A batch of chunks flattened to rows: row r is token {@code token(r)} of chunk {@code chunk(r)} at
 * {@code position(r)}. Immutable.
 */
public final class Rows {
    private final List<Chunk> chunks;
    private final int[] chunkIndex;
    private final int[] positions;
    private final int[] tokens;
    private final int[] lastRows;

    private Rows(List<Chunk> chunks, int[] chunkIndex, int[] positions, int[] tokens, int[] lastRows) {
        this.chunks = chunks;
        this.chunkIndex = chunkIndex;
        this.positions = positions;
        this.tokens = tokens;
        this.lastRows = lastRows;
    }

    /** @throws IllegalArgumentException when a chunk has no tokens */
    public static Rows of(List<Chunk> chunks) {
        int n = chunks.stream().mapToInt(c -> c.tokens().length).sum();
        int[] chunkIndex = new int[n];
        int[] positions = new int[n];
        int[] tokens = new int[n];
        int[] lastRows = new int[chunks.size()];
        int r = 0;
        for (int c = 0; c < chunks.size(); c++) {
            Chunk chunk = chunks.get(c);
            if (chunk.tokens().length == 0) {
                throw new IllegalArgumentException("chunk " + c + " has no tokens");
            }
            for (int t = 0; t < chunk.tokens().length; t++, r++) {
                chunkIndex[r] = c;
                positions[r] = chunk.start() + t;
                tokens[r] = chunk.tokens()[t];
            }
            lastRows[c] = r - 1;
        }
        return new Rows(List.copyOf(chunks), chunkIndex, positions, tokens, lastRows);
    }

    public List<Chunk> chunks() {
        return chunks;
    }

    public int count() {
        return tokens.length;
    }

    public Chunk chunk(int row) {
        return chunks.get(chunkIndex[row]);
    }

    public int position(int row) {
        return positions[row];
    }

    /** Every row's position, a copy. */
    public int[] positions() {
        return positions.clone();
    }

    public int token(int row) {
        return tokens[row];
    }

    public int lastRowOf(int chunk) {
        return lastRows[chunk];
    }
}
