package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.afd.model.generator.SpecialTokens;
import dev.afd.model.generator.TokenizerFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The generated tokenizer.json loads in the Hugging Face tokenizers library (through DJL) and round-trips text. */
class GeneratedTokenizerTest {
    private static final String[] CACHE_PROPERTIES = {"DJL_CACHE_DIR", "ENGINE_CACHE_DIR"};

    @TempDir
    static Path cache;

    private static final Properties saved = new Properties();

    /** DJL unpacks its native library into a cache folder; keep it inside the test's temporary folder. */
    @BeforeAll
    static void useTemporaryCache() {
        for (String p : CACHE_PROPERTIES) {
            String previous = System.getProperty(p);
            if (previous != null) {
                saved.setProperty(p, previous);
            }
            System.setProperty(p, cache.toString());
        }
    }

    @AfterAll
    static void restoreCache() {
        for (String p : CACHE_PROPERTIES) {
            if (saved.containsKey(p)) {
                System.setProperty(p, saved.getProperty(p));
            } else {
                System.clearProperty(p);
            }
        }
    }

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = {512, 8192})
    void loadsAndRoundTripsTextAndSpecialTokens(int vocabSize) throws IOException {
        TokenizerFiles.write(dir, vocabSize, 4096);
        SpecialTokens special = SpecialTokens.forVocab(vocabSize);
        try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(dir.resolve(TokenizerFiles.TOKENIZER))) {
            for (String text : new String[] {
                "Hello, world! The quick brown fox jumps over the lazy dog.",
                "  leading spaces,\ttabs and\nnew lines  ",
                "x = a[i] * 3.14159; // code { } <tag/>",
                "Grüße aus Köln, ¿qué tal? Привет, мир! 敏捷的棕色狐狸 こんにちは 안녕하세요 🙂🚀",
                "zebra-quokka ΩMEGA 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 text the corpus never saw",
            }) {
                long[] ids = t.encode(text).getIds();
                assertThat(ids).as(text).isNotEmpty();
                assertThat(Arrays.stream(ids).max().orElseThrow()).isLessThan(special.beginOfText());
                assertThat(t.decode(ids, false)).isEqualTo(text);
            }
            // Merges were learned: common English needs fewer ids than bytes.
            String english = "the weather is good and the garden is warm";
            assertThat(t.encode(english).getIds().length).isLessThan(english.length() * 2 / 3);

            assertThat(t.encode(SpecialTokens.BEGIN_OF_TEXT).getIds()).containsExactly(special.beginOfText());
            assertThat(t.encode(SpecialTokens.END_OF_TEXT).getIds()).containsExactly(special.endOfText());
            assertThat(t.encode(SpecialTokens.IM_START).getIds()).containsExactly(special.imStart());
            assertThat(t.encode(SpecialTokens.IM_END).getIds()).containsExactly(special.imEnd());

            String chat = SpecialTokens.IM_START + "user\nHi there!" + SpecialTokens.IM_END + "\n"
                    + SpecialTokens.IM_START + "assistant\n";
            long[] ids = t.encode(chat).getIds();
            assertThat(ids[0]).isEqualTo(special.imStart());
            assertThat(Arrays.stream(ids).filter(id -> id == special.imStart()).count()).isEqualTo(2);
            assertThat(Arrays.stream(ids).filter(id -> id == special.imEnd()).count()).isEqualTo(1);
            assertThat(t.decode(ids, false)).isEqualTo(chat);
            assertThat(t.decode(ids, true)).isEqualTo("user\nHi there!\nassistant\n");
        }
        assertThat(Files.readString(dir.resolve(TokenizerFiles.TOKENIZER_CONFIG)))
                .contains("\"chat_template\"", "add_generation_prompt", "\"model_max_length\": 4096");
    }
}
