package dev.afd.cli;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.attention.AttentionNode;
import dev.afd.attention.client.AttentionClient;
import dev.afd.attention.engine.CollectingSink;
import dev.afd.proto.WireDtype;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Mixin;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.sampling.TokenLogprob;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code afd generate}: continue one prompt offline, in this process. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = "Generate a continuation of one prompt: in this process, or on a running attention node.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", description = "Checkpoint folder (config.json, *.safetensors, tokenizer.json).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    static final class Prompt {
        @Option(names = "--prompt-ids", split = ",", description = "Prompt as comma-separated token ids.")
        int[] ids;

        @Option(names = "--prompt", description = "Prompt text, tokenized with the model's tokenizer.json.")
        String text;
    }

    @Option(names = "--max-tokens", defaultValue = "16", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 is greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 keeps all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling mass (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--min-p", defaultValue = "0", description = "Drop tokens below min-p times the top probability (default: ${DEFAULT-VALUE}).")
    double minP;

    @Option(names = "--seed", description = "Random seed; the same seed gives the same output.")
    Long seed;

    @Option(names = "--presence-penalty", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}.")
    double presencePenalty;

    @Option(names = "--frequency-penalty", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}.")
    double frequencyPenalty;

    @Option(names = "--repetition-penalty", defaultValue = "1", description = "Default: ${DEFAULT-VALUE} (off).")
    double repetitionPenalty;

    @Option(names = "--top-logprobs", defaultValue = "0", description = "Report this many alternatives per token (default: ${DEFAULT-VALUE}).")
    int topLogprobs;

    @Option(names = "--ignore-eos", description = "Keep generating past end-of-sequence tokens.")
    boolean ignoreEos;

    @Option(names = "--attention", description = "Run on this attention node (host:port) instead of in this process.")
    String attention;

    @Option(names = "--wire-dtype", defaultValue = "f32",
            description = "In-process wire dtype to the ffn shards: f32, bf16 or fp8 (default: ${DEFAULT-VALUE}, exact).")
    String wireDtype;

    @Option(names = "--ffn-shards", defaultValue = "1", description = "In-process ffn shards the experts are split over (default: ${DEFAULT-VALUE}).")
    int ffnShards;

    @Mixin
    EngineMixin engine;

    @Option(names = "--json", description = "Print one JSON object: token_ids, logprobs, finish_reason.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        SamplingParams sampling = new SamplingParams(temperature, topK, topP, minP, seed, presencePenalty,
                frequencyPenalty, repetitionPenalty, topLogprobs);
        if (model == null && (attention == null || prompt.text != null)) {
            throw new IllegalArgumentException(attention == null
                    ? "give --model DIR (offline) or --attention host:port"
                    : "--prompt needs --model DIR for the tokenizer; or pass --prompt-ids");
        }
        try (HuggingFaceTokenizer tokenizer = model != null && (prompt.text != null || !json) ? openTokenizer() : null) {
            int[] ids = prompt.ids != null ? prompt.ids : encode(tokenizer, prompt.text);
            GenerationRequest request = new GenerationRequest(ids, maxTokens, sampling, ignoreEos);
            GenerationResult result = attention != null ? remote(request) : offline(request);
            PrintWriter out = spec.commandLine().getOut();
            out.println(json ? toJson(result) : toText(result, tokenizer));
            out.flush();
        }
        return 0;
    }

    /** In this process: the engine with in-process ffn shards, reached through the same frames as over gRPC. */
    private GenerationResult offline(GenerationRequest request) throws Exception {
        AttentionNode.Wire wire = new AttentionNode.Wire(WireDtypes.request(wireDtype), WireDtypes.response(
                WireDtypes.request(wireDtype) == WireDtype.WIRE_F32 ? "f32" : "bf16"), Duration.ofMinutes(10));
        try (Checkpoint checkpoint = Checkpoint.open(model);
                AttentionNode node = AttentionNode.inProcess(checkpoint, ffnShards, wire, engine.options())) {
            CollectingSink sink = new CollectingSink();
            node.engine().submit("generate", request, sink);
            try {
                return sink.result().get();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            }
        }
    }

    private GenerationResult remote(GenerationRequest request) {
        try (AttentionClient client = new AttentionClient(attention)) {
            return client.generate("generate-" + UUID.randomUUID(), request);
        }
    }

    private HuggingFaceTokenizer openTokenizer() throws Exception {
        Path file = model.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            if (prompt.text != null) {
                throw new IllegalArgumentException(model + " has no tokenizer.json: pass --prompt-ids instead of --prompt");
            }
            return null;
        }
        return HuggingFaceTokenizer.newInstance(file);
    }

    private static int[] encode(HuggingFaceTokenizer tokenizer, String text) {
        return Arrays.stream(tokenizer.encode(text).getIds()).mapToInt(Math::toIntExact).toArray();
    }

    private String toJson(GenerationResult r) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode ids = root.putArray("token_ids");
        Arrays.stream(r.tokenIds()).forEach(ids::add);
        ArrayNode lp = root.putArray("logprobs");
        for (float f : r.logprobs()) {
            lp.add(f);
        }
        if (topLogprobs > 0) {
            ArrayNode top = root.putArray("top_logprobs");
            for (List<TokenLogprob> step : r.topLogprobs()) {
                ArrayNode s = top.addArray();
                step.forEach(t -> s.addObject().put("token_id", t.token()).put("logprob", t.logprob()));
            }
        }
        root.put("finish_reason", r.finishReason());
        return mapper.writeValueAsString(root);
    }

    private static String toText(GenerationResult r, HuggingFaceTokenizer tokenizer) {
        if (tokenizer == null) {
            return Arrays.toString(r.tokenIds()) + " (" + r.finishReason() + ")";
        }
        long[] ids = Arrays.stream(r.tokenIds()).asLongStream().toArray();
        return tokenizer.decode(ids, false);
    }
}
