package dev.afd.bench.serve;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code afd bench serve}: a sweep of load runs against an OpenAI-compatible server, one run per request rate or per
 * concurrency, each sending the same workload.
 */
public final class ServeBench {
    /** The probe's requests come from their own seed, so it warms no prefix or cache entry a run then measures. */
    private static final long PROBE_SEED = 0x9E3779B97F4A7C15L;

    private ServeBench() {}

    /**
     * What to run.
     *
     * @param model the model name sent in requests; null to take the first of {@code GET /v1/models}
     * @param endpoint null for the default: completions for token-id datasets, chat for text ones
     * @param requestRates one run per rate (infinite = all at once), unless concurrencies sweep
     * @param maxConcurrencies one run per cap (0 = none), unless rates sweep; only one of the two may list several
     * @param numWarmups requests sent before the sweep and left out of every figure: the dataset's first ones, the
     *     measured requests being the next {@code numPrompts}
     * @param maxDuration each run sends no request after this long; null for no limit
     * @param saveDetailed whether each run's results carry its per-request records ({@link RequestRecords})
     */
    public record Options(URI baseUrl, String model, Endpoint endpoint, String apiKey, Duration timeout,
            int numPrompts, Dataset dataset, List<Double> requestRates, double burstiness,
            List<Integer> maxConcurrencies, Slo slo, long seed, int numWarmups, Duration maxDuration,
            boolean saveDetailed) {
        public Options {
            requestRates = List.copyOf(requestRates);
            maxConcurrencies = List.copyOf(maxConcurrencies);
            if (numPrompts < 1) {
                throw new IllegalArgumentException("--num-prompts must be >= 1, got " + numPrompts);
            }
            if (numWarmups < 0) {
                throw new IllegalArgumentException("--num-warmups must be >= 0, got " + numWarmups);
            }
            if (maxDuration != null && !(maxDuration.toNanos() > 0)) {
                throw new IllegalArgumentException("--max-seconds must be > 0 (or absent), got "
                        + maxDuration.toMillis() / 1000.0);
            }
            if (requestRates.isEmpty() || maxConcurrencies.isEmpty()) {
                throw new IllegalArgumentException("give at least one --request-rate and one --max-concurrency");
            }
            if (requestRates.size() > 1 && maxConcurrencies.size() > 1) {
                throw new IllegalArgumentException("sweep over --request-rate or over --max-concurrency, not both"
                        + " (got " + requestRates.size() + " rates and " + maxConcurrencies.size() + " caps)");
            }
            if (endpoint == Endpoint.CHAT && dataset.tokenIdPrompts()) {
                throw new IllegalArgumentException("the chat endpoint needs a text dataset (--dataset sharegpt or"
                        + " jsonl): random and prefix prompts are token-id lists, which only /v1/completions takes");
            }
            if (!(timeout.toMillis() > 0)) {
                throw new IllegalArgumentException("--timeout-s must be > 0, got " + timeout.toSeconds());
            }
        }

        public Endpoint resolvedEndpoint() {
            return endpoint != null ? endpoint : dataset.tokenIdPrompts() ? Endpoint.COMPLETIONS : Endpoint.CHAT;
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
    }

    /**
     * A finished sweep.
     *
     * @param details each run's per-request records with {@code --save-detailed}, else empty
     */
    public record Result(Options options, String model, List<RunMetrics> runs, List<Map<String, Object>> details) {}

    /**
     * Checks the server with one request, sends the warm-ups, then runs the sweep.
     *
     * @param progress where the progress bar is drawn; null for none
     * @param log told before each run
     */
    public static Result run(Options o, PrintStream progress, Consumer<String> log)
            throws IOException, InterruptedException {
        try (OpenAiClient client = new OpenAiClient(o.baseUrl(), o.apiKey(), o.timeout())) {
            String model = o.model() != null ? o.model() : client.firstModel();
            Endpoint endpoint = o.resolvedEndpoint();
            Dataset.Context context = new Dataset.Context(endpoint, model, text -> client.tokenCount(model, text));
            RequestOutcome probe = client.send(endpoint, o.dataset().requests(context, 1, PROBE_SEED).getFirst())
                    .join();
            if (!probe.ok()) {
                throw new IOException("the test request to " + o.baseUrl() + endpoint.path() + " failed ("
                        + probe.failure() + "); check --base-url, --model, --endpoint and --api-key");
            }
            List<PreparedRequest> all = o.dataset().requests(context, o.numWarmups() + o.numPrompts(), o.seed());
            List<Load> loads = o.loads();
            if (o.numWarmups() > 0) {
                warmUp(client, endpoint, all.subList(0, o.numWarmups()), loads.getFirst(), o.seed(), log);
            }
            List<PreparedRequest> requests = all.subList(o.numWarmups(), all.size());
            List<RunMetrics> runs = new ArrayList<>();
            List<Map<String, Object>> details = new ArrayList<>();
            for (int i = 0; i < loads.size(); i++) {
                Load load = loads.get(i);
                log.accept("run " + (i + 1) + "/" + loads.size() + ": " + o.numPrompts() + " requests, "
                        + load.label());
                LoadGenerator.Progress counts = new LoadGenerator.Progress();
                LoadGenerator.Run run;
                try (ProgressBar bar = progress == null ? null
                        : new ProgressBar(progress, load.label(), requests.size(), counts)) {
                    run = LoadGenerator.run(client, endpoint, requests, load, o.seed() + i, counts, o.maxDuration());
                }
                if (run.outcomes().size() < requests.size()) {
                    log.accept("  --max-seconds " + o.maxDuration().toMillis() / 1000.0 + " reached: "
                            + run.outcomes().size() + " of " + requests.size() + " requests sent");
                }
                runs.add(RunMetrics.of(run, o.slo()));
                if (o.saveDetailed()) {
                    details.add(RequestRecords.of(run));
                }
            }
            return new Result(o, model, runs, details);
        }
    }

    /**
     * Sends the warm-ups under the first run's concurrency cap (all at once without one), as vLLM does, and checks
     * that they succeeded: a failing server should stop the sweep before it is measured.
     */
    private static void warmUp(OpenAiClient client, Endpoint endpoint, List<PreparedRequest> warmups, Load first,
            long seed, Consumer<String> log) throws IOException, InterruptedException {
        log.accept("warm-up: " + warmups.size() + " requests");
        Load load = new Load(Double.POSITIVE_INFINITY, 1, first.maxConcurrency());
        LoadGenerator.Run run = LoadGenerator.run(client, endpoint, warmups, load, seed,
                new LoadGenerator.Progress());
        long failed = run.outcomes().stream().filter(r -> !r.ok()).count();
        if (failed > 0) {
            throw new IOException(failed + " of " + warmups.size() + " warm-up requests failed, first: "
                    + run.outcomes().stream().filter(r -> !r.ok()).findFirst().orElseThrow().failure());
        }
    }
}
