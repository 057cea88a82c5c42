package dev.afd.cli;

import dev.afd.bench.serve.Endpoint;
import dev.afd.bench.serve.ServeBench;
import dev.afd.bench.serve.ServeReport;
import dev.afd.bench.serve.Slo;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
                + " goodput under --goodput SLOs and failures by kind, as JSON and markdown in --result-dir."})
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
                    + " chat with --dataset).")
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

    @Option(names = "--input-len", defaultValue = "128",
            description = "Synthetic prompt length in tokens, exact (default: ${DEFAULT-VALUE}).")
    int inputLen;

    @Option(names = "--output-len", defaultValue = "128",
            description = "Output tokens per request (max_tokens with ignore_eos) (default: ${DEFAULT-VALUE}).")
    int outputLen;

    @Option(names = "--prompt-token-range", defaultValue = "256",
            description = "Synthetic prompt token ids are drawn from [0, N); 256 fits any vocabulary (default: ${DEFAULT-VALUE}).")
    int promptTokenRange;

    @Option(names = "--dataset", paramLabel = "FILE.jsonl",
            description = "Prompts instead of synthetic ones: one JSON object per line, {\"messages\": [...]} (chat)"
                    + " or {\"prompt\": \"...\"}; used in file order, repeated as needed.")
    Path dataset;

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

    @Option(names = "--result-dir", defaultValue = "benchmarks/results",
            description = "Where the JSON, markdown and plot go (default: ${DEFAULT-VALUE}).")
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
                endpoint == null ? null : Endpoint.parse(endpoint), apiKey,
                Duration.ofMillis(Math.round(timeoutS * 1000)), numPrompts, inputLen, outputLen, promptTokenRange,
                dataset, rates(requestRates), burstiness, maxConcurrency == null ? List.of(0) : caps(maxConcurrency),
                Slo.parse(goodput), seed);
        PrintStream bar = noProgress || System.console() == null || !System.console().isTerminal() ? null : System.err;
        ServeBench.Result result = ServeBench.run(options, bar, line -> {
            out.println(line);
            out.flush();
        });
        ServeReport.Written written = ServeReport.write(result, resultDir, resultName);
        out.println(written.table().toMarkdown());
        out.println("written: " + String.join(", ", written.files().stream().map(Path::toString).toList()));
        return 0;
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
