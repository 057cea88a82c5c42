package dev.afd.cli;

import dev.afd.bench.serve.Dataset;
import dev.afd.bench.serve.Endpoint;
import dev.afd.bench.serve.JsonlDataset;
import dev.afd.bench.serve.Lengths;
import dev.afd.bench.serve.PrefixDataset;
import dev.afd.bench.serve.RandomDataset;
import dev.afd.bench.serve.ResultFolder;
import dev.afd.bench.serve.ServeBench;
import dev.afd.bench.serve.ServeReport;
import dev.afd.bench.serve.ShareGptDataset;
import dev.afd.bench.serve.Slo;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code afd bench serve}: an OpenAI-API load generator with the options of vLLM's {@code vllm bench serve}; works
 * against any OpenAI-compatible server.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Load-test an OpenAI-compatible server (ours, vLLM, SGLang, ...): open loop (Poisson or gamma"
                + " arrivals at --request-rate) or closed loop (--max-concurrency clients); a comma list of rates or"
                + " of concurrencies runs a sweep and plots latency against throughput.",
            "Reports request and token throughput, TTFT, TPOT, ITL and end-to-end latency (mean, p50, p90, p99),"
                + " goodput under --goodput SLOs and failures by kind, as JSON and markdown in --result-dir (by"
                + " default a new folder per invocation)."})
final class BenchServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--base-url", defaultValue = "http://127.0.0.1:8000",
            description = "Server root, without /v1 (default: ${DEFAULT-VALUE}).")
    URI baseUrl;

    @Option(names = "--model", description = "Model name sent in requests (default: the first of GET /v1/models).")
    String model;

    @Option(names = "--endpoint", paramLabel = "completions|chat",
            description = "completions (/v1/completions) or chat (/v1/chat/completions) (default: completions, or"
                    + " chat with the sharegpt and jsonl datasets).")
    String endpoint;

    @Option(names = "--num-prompts", defaultValue = "200", description = "Requests per run (default: ${DEFAULT-VALUE}).")
    int numPrompts;

    @Option(names = "--request-rate", split = ",", defaultValue = "inf", paramLabel = "RATE[,RATE...]",
            description = "Requests per second, or inf to send all at once; a comma list sweeps (default: ${DEFAULT-VALUE}).")
    List<String> requestRates;

    @Option(names = "--burstiness", defaultValue = "1",
            description = "Gamma shape of inter-arrival times: 1 is Poisson, below 1 burstier, above 1 more even"
                    + " (default: ${DEFAULT-VALUE}).")
    double burstiness;

    @Option(names = "--max-concurrency", split = ",", paramLabel = "N[,N...]",
            description = "Most requests in flight; with --request-rate inf a closed loop of N clients; a comma list"
                    + " sweeps (default: no limit).")
    List<Integer> maxConcurrency;

    @Option(names = "--dataset", defaultValue = "random", paramLabel = "random|prefix|sharegpt|jsonl",
            description = {"Where prompts come from (default: ${DEFAULT-VALUE}):",
                "random: token ids drawn from [0, --prompt-token-range), lengths from --random-input-len,"
                    + " --random-output-len and --random-range-ratio (completions only);",
                "prefix: --num-prefixes prefixes of --prefix-len token ids, each request one of them (in turn) plus"
                    + " its own random suffix of --random-input-len tokens (completions only);",
                "sharegpt: a ShareGPT JSON file (--dataset-path): each conversation's first human turn as the"
                    + " prompt, the gpt turn's length in the server's tokens (its /tokenize) as the output length"
                    + " unless --sharegpt-output-len;",
                "jsonl: one JSON object per line (--dataset-path), {\"messages\": [...]} (chat) or"
                    + " {\"prompt\": \"...\"}, used in file order, --random-output-len output tokens."})
    String dataset;

    @Option(names = "--dataset-path", paramLabel = "FILE",
            description = "The file of --dataset sharegpt or jsonl (default: none).")
    Path datasetPath;

    @Option(names = {"--random-input-len", "--input-len"}, defaultValue = "128",
            description = "Prompt tokens of the random dataset, suffix tokens of the prefix dataset"
                    + " (default: ${DEFAULT-VALUE}).")
    int inputLen;

    @Option(names = {"--random-output-len", "--output-len"}, defaultValue = "128",
            description = "Output tokens per request (max_tokens with ignore_eos) of the random, prefix and jsonl"
                    + " datasets (default: ${DEFAULT-VALUE}).")
    int outputLen;

    @Option(names = "--random-range-ratio", defaultValue = "0",
            description = "As in vLLM: input and output lengths drawn uniformly from [len * (1 - R), len * (1 + R)];"
                    + " 0 makes them exact, at most just under 1 (default: ${DEFAULT-VALUE}).")
    double rangeRatio;

    @Option(names = "--prompt-token-range", defaultValue = "256",
            description = "Random and prefix prompt token ids are drawn from [0, N); 256 fits any vocabulary"
                    + " (default: ${DEFAULT-VALUE}).")
    int promptTokenRange;

    @Option(names = "--prefix-len", defaultValue = "256",
            description = "Tokens of each shared prefix of the prefix dataset (default: ${DEFAULT-VALUE}).")
    int prefixLen;

    @Option(names = "--num-prefixes", defaultValue = "10",
            description = "Distinct prefixes of the prefix dataset (default: ${DEFAULT-VALUE}).")
    int numPrefixes;

    @Option(names = "--sharegpt-output-len",
            description = "Output tokens of every sharegpt request (default: the gpt turn's length).")
    Integer sharegptOutputLen;

    @Option(names = "--num-warmups", defaultValue = "0",
            description = "Requests sent before the runs and left out of the figures: the dataset's first ones (with"
                    + " the prefix dataset, --num-prefixes of them touch every prefix) (default: ${DEFAULT-VALUE}).")
    int numWarmups;

    @Option(names = "--max-seconds",
            description = "Each run sends no request after this many seconds; those sent finish and are counted"
                    + " (default: no limit).")
    Double maxSeconds;

    @Option(names = "--save-detailed",
            description = "Add each request's input and output lengths, start time, TTFT, ITLs, E2EL and error to"
                    + " every run in the JSON, under vLLM's names (default: off).")
    boolean saveDetailed;

    @Option(names = "--goodput", split = ",", arity = "1..*", paramLabel = "NAME:MS",
            description = "SLOs in milliseconds for goodput, e.g. ttft:500,tpot:50,e2el:5000.")
    List<String> goodput = new ArrayList<>();

    @Option(names = "--seed", defaultValue = "0", description = "Seed of prompts and arrivals (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--api-key", description = "Sent as 'Authorization: Bearer KEY'.")
    String apiKey;

    @Option(names = "--timeout-s", defaultValue = "600",
            description = "Longest one request may take before it counts as a timeout (default: ${DEFAULT-VALUE}).")
    double timeoutS;

    @Option(names = "--result-dir",
            description = "Where the JSON, markdown and plot go (default: a new folder"
                    + " bench-results/NAME-YYYYMMDD-HHMMSS (UTC) under the current directory).")
    Path resultDir;

    @Option(names = "--result-name", defaultValue = "serve",
            description = "Base name of the result files: NAME.json, NAME.md, NAME-latency.png (default: ${DEFAULT-VALUE}).")
    String resultName;

    @Option(names = "--no-progress", description = "No progress bar (it is also off when not on a terminal).")
    boolean noProgress;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ServeBench.Options options = new ServeBench.Options(baseUrl, model,
                endpoint == null ? null : Endpoint.parse(endpoint), apiKey, millis(timeoutS), numPrompts, dataset(),
                rates(requestRates), burstiness, maxConcurrency == null ? List.of(0) : caps(maxConcurrency),
                Slo.parse(goodput), seed, numWarmups, maxSeconds == null ? null : millis(maxSeconds), saveDetailed);
        PrintStream bar = noProgress || System.console() == null || !System.console().isTerminal() ? null : System.err;
        ServeBench.Result result = ServeBench.run(options, bar, line -> {
            out.println(line);
            out.flush();
        });
        Path dir = resultDir != null ? resultDir
                : ResultFolder.fresh(ResultFolder.PARENT, resultName, Clock.systemUTC());
        ServeReport.Written written = ServeReport.write(result, dir, resultName);
        out.println(written.table().toMarkdown());
        out.println("written: " + String.join(", ", written.files().stream().map(Path::toString).toList()));
        return 0;
    }

    private Dataset dataset() {
        Lengths lengths = new Lengths(inputLen, outputLen, rangeRatio);
        String name = dataset.strip().toLowerCase(Locale.ROOT);
        if (!name.equals("sharegpt") && !name.equals("jsonl") && datasetPath != null) {
            throw new IllegalArgumentException("--dataset-path is for --dataset sharegpt or jsonl, not " + dataset);
        }
        return switch (name) {
            case "random" -> new RandomDataset(lengths, promptTokenRange);
            case "prefix" -> new PrefixDataset(prefixLen, numPrefixes, lengths, promptTokenRange);
            case "sharegpt" -> new ShareGptDataset(path(), sharegptOutputLen == null ? OptionalInt.empty()
                    : OptionalInt.of(sharegptOutputLen));
            case "jsonl" -> new JsonlDataset(path(), outputLen);
            default -> throw new IllegalArgumentException("unknown --dataset '" + dataset + "': use random, prefix,"
                    + " sharegpt or jsonl (the last two with --dataset-path FILE)");
        };
    }

    private Path path() {
        if (datasetPath == null) {
            throw new IllegalArgumentException("--dataset " + dataset + " needs --dataset-path FILE");
        }
        return datasetPath;
    }

    private static Duration millis(double seconds) {
        return Duration.ofMillis(Math.round(seconds * 1000));
    }

    static List<Double> rates(List<String> values) {
        List<Double> rates = new ArrayList<>();
        for (String v : values) {
            String s = v.strip().toLowerCase(Locale.ROOT);
            if (s.equals("inf") || s.equals("infinity")) {
                rates.add(Double.POSITIVE_INFINITY);
                continue;
            }
            double rate;
            try {
                rate = Double.parseDouble(s);
            } catch (NumberFormatException e) {
                rate = Double.NaN;
            }
            if (!(rate > 0)) {
                throw new IllegalArgumentException("bad --request-rate '" + v + "': use requests per second > 0, or inf");
            }
            rates.add(rate);
        }
        return rates;
    }

    private static List<Integer> caps(List<Integer> values) {
        for (int v : values) {
            if (v < 1) {
                throw new IllegalArgumentException("--max-concurrency must be >= 1, got " + v);
            }
        }
        return values;
    }
}
