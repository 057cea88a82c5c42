package dev.afd.bench.serve;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code afd bench serve}: a sweep of load runs against an OpenAI-compatible server, one run per request rate or per
 * concurrency, each sending the same workload.
 */
public final class ServeBench {
    private ServeBench() {}

    /**
     * What to run.
     *
     * @param model the model name sent in requests; null to take the first of {@code GET /v1/models}
     * @param endpoint null for the default: completions for synthetic prompts, chat for a dataset
     * @param promptTokenRange synthetic prompt token ids are drawn from {@code [0, promptTokenRange)}
     * @param dataset a JSONL file of prompts (see {@link Prompts}); null for synthetic prompts
     * @param requestRates one run per rate (infinite = all at once), unless concurrencies sweep
     * @param maxConcurrencies one run per cap (0 = none), unless rates sweep; only one of the two may list several
     */
    public record Options(URI baseUrl, String model, Endpoint endpoint, String apiKey, Duration timeout,
            int numPrompts, int inputLen, int outputLen, int promptTokenRange, Path dataset, List<Double> requestRates,
            double burstiness, List<Integer> maxConcurrencies, Slo slo, long seed) {
        public Options {
            requestRates = List.copyOf(requestRates);
            maxConcurrencies = List.copyOf(maxConcurrencies);
            if (numPrompts < 1) {
                throw new IllegalArgumentException("--num-prompts must be >= 1, got " + numPrompts);
            }
            if (requestRates.isEmpty() || maxConcurrencies.isEmpty()) {
                throw new IllegalArgumentException("give at least one --request-rate and one --max-concurrency");
            }
            if (requestRates.size() > 1 && maxConcurrencies.size() > 1) {
                throw new IllegalArgumentException("sweep over --request-rate or over --max-concurrency, not both"
                        + " (got " + requestRates.size() + " rates and " + maxConcurrencies.size() + " caps)");
            }
            if (endpoint == Endpoint.CHAT && dataset == null) {
                throw new IllegalArgumentException("the chat endpoint needs --dataset: synthetic prompts are token-id"
                        + " lists, which only /v1/completions takes");
            }
            if (!(timeout.toMillis() > 0)) {
                throw new IllegalArgumentException("--timeout-s must be > 0, got " + timeout.toSeconds());
            }
        }

        public Endpoint resolvedEndpoint() {
            return endpoint != null ? endpoint : dataset == null ? Endpoint.COMPLETIONS : Endpoint.CHAT;
        }

        /** The runs of the sweep, in order. */
        public List<Load> loads() {
            List<Load> loads = new ArrayList<>();
            for (double rate : requestRates) {
                for (int cap : maxConcurrencies) {
                    loads.add(new Load(rate, burstiness, cap));
                }
            }
            return loads;
        }

        /** How the prompts are made, for the results' environment. */
        public String workload() {
            if (dataset != null) {
                return "dataset " + dataset + ", " + outputLen + " output tokens (ignore_eos)";
            }
            return "synthetic: " + inputLen + " random token ids in [0, " + promptTokenRange + "), " + outputLen
                    + " output tokens (ignore_eos)";
        }
    }

    /** A finished sweep. */
    public record Result(Options options, String model, List<RunMetrics> runs) {}

    /**
     * Checks the server with one request, then runs the sweep.
     *
     * @param progress where the progress bar is drawn; null for none
     * @param log told before each run
     */
    public static Result run(Options o, PrintStream progress, Consumer<String> log)
            throws IOException, InterruptedException {
        try (OpenAiClient client = new OpenAiClient(o.baseUrl(), o.apiKey(), o.timeout())) {
            String model = o.model() != null ? o.model() : client.firstModel();
            Endpoint endpoint = o.resolvedEndpoint();
            List<PreparedRequest> requests = o.dataset() == null
                    ? Prompts.synthetic(model, o.numPrompts(), o.inputLen(), o.outputLen(), o.promptTokenRange(),
                            o.seed())
                    : Prompts.jsonl(o.dataset(), endpoint, model, o.numPrompts(), o.outputLen());
            RequestOutcome probe = client.send(endpoint, requests.getFirst()).join();
            if (!probe.ok()) {
                throw new IOException("the test request to " + o.baseUrl() + endpoint.path() + " failed ("
                        + probe.failure() + "); check --base-url, --model, --endpoint and --api-key");
            }
            List<RunMetrics> runs = new ArrayList<>();
            List<Load> loads = o.loads();
            for (int i = 0; i < loads.size(); i++) {
                Load load = loads.get(i);
                log.accept("run " + (i + 1) + "/" + loads.size() + ": " + o.numPrompts() + " requests, "
                        + load.label());
                LoadGenerator.Progress counts = new LoadGenerator.Progress();
                LoadGenerator.Run run;
                try (ProgressBar bar = progress == null ? null
                        : new ProgressBar(progress, load.label(), requests.size(), counts)) {
                    run = LoadGenerator.run(client, endpoint, requests, load, o.seed() + i, counts);
                }
                runs.add(RunMetrics.of(run, o.slo()));
            }
            return new Result(o, model, runs);
        }
    }
}
