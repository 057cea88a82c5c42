package dev.afd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.CollectingSink;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.bench.DecodeBench;
import dev.afd.bench.ResultTable;
import dev.afd.model.family.CausalLm;
import dev.afd.model.ffn.LocalFfn;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.proto.WireDtype;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code afd bench paths}: one model's batch-1 decode rate along the three paths a user meets, in one run: the
 * kernels alone ({@code afd bench kernels}' decode figure), the offline engine ({@code afd generate}: scheduler,
 * paged KV, sampling, the in-process FFN link) and {@code afd serve --local} (gateway, SSE, attention node and
 * ffn-nodes in their own processes, real gRPC). The engine paths are timed per token over the same token range of
 * one long greedy generation, each after a warm-up generation, so start-up and JIT do not count.
 */
@Command(name = "paths", mixinStandardHelpOptions = true,
        description = "Batch-1 decode rate of the kernels alone, the offline engine (afd generate) and serve --local"
                + " over the same tokens of one long generation, warm.")
final class BenchPathsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BenchCommand.BenchTarget target;

    @Option(names = "--tokens", defaultValue = "1032", description = "Tokens each timed generation decodes (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--from", defaultValue = "521", description = "First token of the timed range; the rate is over tokens --from to --tokens (default: ${DEFAULT-VALUE}).")
    int from;

    @Option(names = "--warm-up-tokens", defaultValue = "400", description = "Tokens of the warm-up generation on each path (default: ${DEFAULT-VALUE}).")
    int warmUpTokens;

    @Option(names = "--ffn-nodes", defaultValue = "2", description = "ffn-nodes of the serve --local deployment (default: ${DEFAULT-VALUE}).")
    int ffnNodes;

    /** A short prompt (ids taken modulo the vocabulary): the context the timed range sees is the generation's own. */
    private static final int[] PROMPT = {1, 400, 1200, 77, 5, 901, 33, 2048};

    private int[] prompt;

    @Override
    public Integer call() throws Exception {
        if (from < 2 || from >= tokens) {
            throw new IllegalArgumentException("--from must be between 2 and --tokens - 1 (" + (tokens - 1)
                    + "), got " + from);
        }
        PrintWriter out = spec.commandLine().getOut();
        ResultTable table = new ResultTable("afd bench paths")
                .environment("model", target.model.toString())
                .environment("tokens", "rate over tokens " + from + "-" + tokens + " of one greedy generation");
        double kernels;
        double offline;
        long[] offlineTimes;
        int experts;
        try (Checkpoint checkpoint = target.open(out)) {
            experts = Math.max(1, checkpoint.config().numExperts());
            int vocab = checkpoint.config().vocabSize();
            prompt = Arrays.stream(PROMPT).map(id -> id % vocab).toArray();
            progress(out, "kernels alone (afd bench kernels' decode), batch 1");
            CausalLm model = checkpoint.model(new LocalFfn(checkpoint.weights()));
            kernels = DecodeBench.run(model, 1, 16, 32).tokensPerSecond();
            progress(out, "offline engine (afd generate), warm-up");
            AttentionNode.Wire wire = new AttentionNode.Wire(WireDtype.WIRE_F32, WireDtype.WIRE_F32,
                    Duration.ofMinutes(10));
            try (AttentionNode node = AttentionNode.inProcess(checkpoint, 1, wire, EngineOptions.defaults())) {
                offlineTimes(node, warmUpTokens);
                progress(out, "offline engine (afd generate), " + tokens + " tokens");
                offlineTimes = offlineTimes(node, tokens);
            }
            offline = rate(offlineTimes, from, tokens);
        }
        progress(out, "serve --local (" + ffnNodes + " ffn-nodes), starting");
        long[] servedTimes;
        try (LocalDeployment deployment = new LocalDeployment(new LocalDeployment.Layout(target.model, experts,
                ffnNodes, 1, 1, 0, 0), List.of(), List.of(), List.of(), Map.of(), Duration.ofMinutes(3))) {
            progress(out, "serve --local, warm-up");
            servedTimes(deployment.gatewayUrl(), warmUpTokens);
            progress(out, "serve --local, " + tokens + " tokens");
            servedTimes = servedTimes(deployment.gatewayUrl(), tokens);
        }
        double served = rate(servedTimes, from, tokens);

        String range = "tokens " + from + "-" + tokens;
        table.add(new ResultTable.Row("decode tokens/s, kernels alone", "batch 1, context 16-50", kernels, "tok/s",
                "", Double.NaN, Double.NaN));
        table.add(new ResultTable.Row("decode tokens/s, offline engine (afd generate)", "batch 1, " + range, offline,
                "tok/s", "kernels alone", kernels, 0.9));
        table.add(new ResultTable.Row("decode tokens/s, serve --local", "batch 1, " + range, served, "tok/s",
                "offline engine", offline, 0.9));
        for (int start = 1; start + 511 <= tokens; start += 512) {
            table.add(new ResultTable.Row("decode tokens/s, offline engine", "tokens " + start + "-" + (start + 511),
                    rate(offlineTimes, start, start + 511), "tok/s", "offline engine, " + range, offline,
                    Double.NaN));
        }
        table.note("kernels alone: DecodeBench at batch 1 (16-token prompts, at least 32 steps and 2 s after 3 s of"
                + " warm-up), the figure afd bench kernels reports; its context stays short");
        table.note("offline engine: AttentionNode.inProcess with one in-process ffn shard and an f32 wire, as afd"
                + " generate runs it; serve --local: gateway, one attention node and " + ffnNodes + " ffn-nodes as"
                + " child processes, streamed /v1/completions; each path warmed up by a " + warmUpTokens
                + "-token generation first");
        Path md = table.write(target.resultDir, "paths");
        out.println(table.toMarkdown());
        out.println("written: " + md + " and paths.json");
        return 0;
    }

    private static void progress(PrintWriter out, String step) {
        out.println("measuring " + step + " ...");
        out.flush();
    }

    /** Tokens per second from token {@code first} to token {@code last} (1-based), from arrival times. */
    static double rate(long[] arrivalNanos, int first, int last) {
        return (last - first) / ((arrivalNanos[last - 1] - arrivalNanos[first - 1]) / 1e9);
    }

    /** Generates {@code n} tokens greedily in the node's engine; the engine-thread time each token was sampled. */
    private long[] offlineTimes(AttentionNode node, int n) throws Exception {
        long[] times = new long[n];
        int[] count = new int[1];
        CollectingSink sink = new CollectingSink(sample -> times[count[0]++] = System.nanoTime());
        node.engine().submit("paths", new GenerationRequest(prompt, n, SamplingParams.greedy(), true), sink);
        sink.result().get();
        return times;
    }

    /**
     * Streams a greedy completion of {@code n} tokens from the gateway; the time each token's chunk arrived (with
     * {@code logprobs} asked for, every chunk lists its tokens, so chunks that carry several are counted right).
     */
    private long[] servedTimes(String gateway, int n) throws Exception {
        ObjectMapper json = new ObjectMapper();
        HttpClient http = HttpClient.newHttpClient();
        JsonNode models = json.readTree(http.send(HttpRequest.newBuilder(URI.create(gateway + "/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        ObjectNode body = json.createObjectNode().put("model", models.path("data").path(0).path("id").asText())
                .put("max_tokens", n).put("temperature", 0).put("ignore_eos", true).put("stream", true)
                .put("logprobs", 1);
        Arrays.stream(prompt).forEach(body.putArray("prompt")::add);
        HttpResponse<Stream<String>> response = http.send(HttpRequest.newBuilder(URI.create(gateway
                        + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("the gateway answered " + response.statusCode() + ": "
                    + String.join("\n", response.body().toList()));
        }
        long[] times = new long[n];
        int count = 0;
        try (Stream<String> lines = response.body()) {
            for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
                String line = it.next();
                long now = System.nanoTime();
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                    continue;
                }
                JsonNode tokensInChunk = json.readTree(line.substring(6)).path("choices").path(0).path("logprobs")
                        .path("tokens");
                for (int t = 0; t < tokensInChunk.size() && count < n; t++) {
                    times[count++] = now;
                }
            }
        }
        if (count != n) {
            throw new IllegalStateException("the stream carried " + count + " tokens, " + n + " asked");
        }
        return times;
    }
}
