package dev.afd.model.generator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BpeTrainerTest {
    @ParameterizedTest
    @ValueSource(ints = {256, 257, 300, 508, 8188})
    void vocabularyHasExactlyTheRequestedSizeAndEveryMergeIsValid(int size) {
        BpeTrainer.Model m = BpeTrainer.train(TokenizerFiles.corpus(), size);
        assertThat(m.tokens()).hasSize(size).doesNotHaveDuplicates();
        assertThat(m.tokens().subList(0, 256)).isEqualTo(ByteLevel.baseTokens());
        Map<String, Integer> id = new HashMap<>();
        for (int i = 0; i < m.tokens().size(); i++) {
            id.put(m.tokens().get(i), i);
        }
        // A merge may only use tokens that exist before it (BPE applies merges in rank order) and must yield one.
        Map<String, Integer> firstMergeProducing = new HashMap<>();
        for (int r = 0; r < m.merges().size(); r++) {
            firstMergeProducing.putIfAbsent(m.merges().get(r).merged(), r);
        }
        for (int r = 0; r < m.merges().size(); r++) {
            BpeTrainer.Pair p = m.merges().get(r);
            assertThat(id).containsKeys(p.left(), p.right(), p.merged());
            assertThat(firstMergeProducing.getOrDefault(p.left(), -1)).isLessThan(r);
            assertThat(firstMergeProducing.getOrDefault(p.right(), -1)).isLessThan(r);
        }
        // Every token beyond the bytes is the result of some merge.
        assertThat(new HashSet<>(firstMergeProducing.keySet())).containsAll(m.tokens().subList(256, size));
    }

    @Test
    void trainingIsDeterministicAndLearnsFrequentWords() {
        BpeTrainer.Model a = BpeTrainer.train(TokenizerFiles.corpus(), 508);
        BpeTrainer.Model b = BpeTrainer.train(TokenizerFiles.corpus(), 508);
        assertThat(a).isEqualTo(b);
        // "Ġ" is the byte-level space: " the" is the corpus's most common word.
        assertThat(a.tokens()).contains("Ġthe", "Ġth", "Ġt");
        assertThat(a.merges().getFirst().merged()).hasSize(2);
    }

    @Test
    void paddingKicksInWhenTheCorpusRunsOutOfPairs() {
        BpeTrainer.Model m = BpeTrainer.train("ab ab ab", 300);
        assertThat(m.tokens()).hasSize(300).contains("ab", "Ġab");
        assertThat(m.merges()).hasSizeGreaterThanOrEqualTo(300 - 256);
    }

    @Test
    void tooSmallAVocabularyIsRefused() {
        assertThatThrownBy(() -> BpeTrainer.train("x", 255)).hasMessageContaining("at least 256");
        assertThatThrownBy(() -> SpecialTokens.forVocab(259)).hasMessageContaining("vocab_size 259 is too small");
    }

    @Test
    void byteLevelSplitsLikeGpt2() {
        assertThat(ByteLevel.words("Hello, world! I'm  fine\n")).containsExactly(
                "Hello", ",", "Ġworld", "!", "ĠI", "'m", "Ġ", "Ġfine", "Ċ");
        assertThat(ByteLevel.encode("é")).isEqualTo("Ã©");
        assertThat(List.of(ByteLevel.baseTokens().getFirst(), ByteLevel.baseTokens().getLast()))
                .containsExactly("!", "Ń");
    }
}
