package dev.afd.ffn.cuda;

import java.util.EnumMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The tiles of one grouped MLP call, per kernel path: for each path, int triples {@code (expert, start, end)},
 * each covering positions {@code [start, end)} of one (local) expert, as {@code ffn.cu} reads them.
 *
 * @param byPath the triples of each path (every path present, possibly empty)
 */
record Tiles(Map<TilePath, int[]> byPath) {
    Tiles {
        byPath = Map.copyOf(byPath);
    }

    /**
     * Cuts groups of consecutive positions into tiles: group {@code g} holds positions
     * {@code groupStart[g] .. groupStart[g+1]-1}. A group of up to 8 positions becomes one GEMV tile; a larger one
     * becomes {@code ceil(n / 128)} MMA tiles of nearly equal size (130 rows make 65 + 65, not 128 + 2).
     */
    static Tiles of(int[] groupStart) {
        Map<TilePath, int[]> tiles = new EnumMap<>(TilePath.class);
        for (TilePath path : TilePath.values()) {
            IntStream.Builder triples = IntStream.builder();
            for (int g = 0; g + 1 < groupStart.length; g++) {
                int n = groupStart[g + 1] - groupStart[g];
                if (n == 0 || TilePath.forGroup(n) != path) {
                    continue;
                }
                int pieces = (n + path.maxRows - 1) / path.maxRows;
                for (int i = 0; i < pieces; i++) {
                    triples.add(g).add(groupStart[g] + (int) ((long) n * i / pieces))
                            .add(groupStart[g] + (int) ((long) n * (i + 1) / pieces));
                }
            }
            tiles.put(path, triples.build().toArray());
        }
        return new Tiles(tiles);
    }

    int[] of(TilePath path) {
        return byPath.get(path);
    }

    /** Number of tiles of a path: the grid's x extent. */
    int count(TilePath path) {
        return byPath.get(path).length / 3;
    }
}
