package dev.afd.model.generator;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A small, deterministic byte-level BPE trainer. It learns merges from a corpus the usual way (repeatedly merge the
 * most frequent adjacent pair, ties broken by the pair's text), and when the corpus runs out of pairs seen at least
 * twice before the target size, pads the vocabulary with further merges (each existing token extended by one byte)
 * so that the vocabulary has exactly the requested size.
 */
final class BpeTrainer {
    private static final Comparator<Pair> TIE_BREAK =
            Comparator.comparing(Pair::left).thenComparing(Pair::right);

    private BpeTrainer() {}

    /** Two adjacent tokens; merging them yields {@code left + right}. */
    record Pair(String left, String right) {
        String merged() {
            return left + right;
        }
    }

    /**
     * The trained model.
     *
     * @param tokens the vocabulary in id order: the 256 byte tokens, then one token per new merge result
     * @param merges in priority order
     */
    record Model(List<String> tokens, List<Pair> merges) {
        Model {
            tokens = List.copyOf(tokens);
            merges = List.copyOf(merges);
        }
    }

    /** Trains on {@code corpus} until the vocabulary holds exactly {@code size} tokens. */
    static Model train(String corpus, int size) {
        if (size < ByteLevel.BYTES) {
            throw new IllegalArgumentException("a byte-level BPE vocabulary needs at least " + ByteLevel.BYTES
                    + " tokens, got " + size);
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        ByteLevel.baseTokens().forEach(t -> vocab.put(t, vocab.size()));
        List<Pair> merges = new ArrayList<>();
        Corpus words = new Corpus(corpus);
        while (vocab.size() < size) {
            Pair best = words.mostFrequentPair();
            if (best == null) {
                break;
            }
            words.merge(best);
            merges.add(best);
            vocab.putIfAbsent(best.merged(), vocab.size());
        }
        List<String> tokens = new ArrayList<>(vocab.keySet());
        List<String> base = ByteLevel.baseTokens();
        for (int i = 0; vocab.size() < size; i++) {
            for (int b = 0; b < base.size() && vocab.size() < size; b++) {
                Pair p = new Pair(tokens.get(i), base.get(b));
                if (vocab.putIfAbsent(p.merged(), vocab.size()) == null) {
                    merges.add(p);
                    tokens.add(p.merged());
                }
            }
        }
        return new Model(tokens, merges);
    }

    /** The distinct pre-tokenized words of the corpus with their counts, each split into its current tokens. */
    private static final class Corpus {
        private final List<List<String>> symbols = new ArrayList<>();
        private final List<Integer> counts = new ArrayList<>();

        Corpus(String text) {
            Map<String, Integer> wordCounts = new TreeMap<>();
            for (String w : ByteLevel.words(text)) {
                wordCounts.merge(w, 1, Integer::sum);
            }
            wordCounts.forEach((word, count) -> {
                List<String> s = new ArrayList<>();
                word.codePoints().forEach(c -> s.add(Character.toString(c)));
                symbols.add(s);
                counts.add(count);
            });
        }

        /** The pair seen most often, at least twice; null when none is. */
        Pair mostFrequentPair() {
            Map<Pair, Integer> pairCounts = new HashMap<>();
            for (int w = 0; w < symbols.size(); w++) {
                List<String> s = symbols.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairCounts.merge(new Pair(s.get(i), s.get(i + 1)), counts.get(w), Integer::sum);
                }
            }
            Pair best = null;
            int bestCount = 1;
            for (Map.Entry<Pair, Integer> e : pairCounts.entrySet()) {
                int c = e.getValue();
                if (c > bestCount || (c == bestCount && best != null && TIE_BREAK.compare(e.getKey(), best) < 0)) {
                    best = e.getKey();
                    bestCount = c;
                }
            }
            return best;
        }

        /** Replaces every occurrence of the pair, left to right, as BPE encoding would. */
        void merge(Pair p) {
            for (List<String> s : symbols) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(p.left()) && s.get(i + 1).equals(p.right())) {
                        s.set(i, p.merged());
                        s.remove(i + 1);
                    }
                }
            }
        }
    }
}
