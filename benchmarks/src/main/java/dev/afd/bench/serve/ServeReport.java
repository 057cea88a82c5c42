package dev.afd.bench.serve;

import dev.afd.bench.ResultTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * A sweep's results in the common results format: summary rows (throughputs, latency mean and percentiles, failures,
 * each run a case) in the table, every run's full figures under {@code runs}, and for a sweep a PNG of latency
 * against throughput.
 */
public final class ServeReport {
    private ServeReport() {}

    public static ResultTable table(ServeBench.Result result) {
        ServeBench.Options o = result.options();
        Slo slo = o.slo();
        ResultTable table = new ResultTable("afd bench serve")
                .environment("server", o.baseUrl() + o.resolvedEndpoint().path())
                .environment("model", result.model())
                .environment("workload", o.dataset().describe())
                .environment("requests per run", o.numPrompts());
        if (o.numWarmups() > 0) {
            table.environment("warm-up requests", o.numWarmups());
        }
        if (o.maxDuration() != null) {
            table.environment("time limit per run (s)", o.maxDuration().toMillis() / 1000.0);
        }
        if (o.requestRates().stream().anyMatch(Double::isFinite)) {
            table.environment("arrivals", "gamma, burstiness " + o.burstiness()
                    + (o.burstiness() == 1 ? " (Poisson)" : ""));
        }
        table.environment("SLO (ms)", slo.any() ? slo.toString() : "none").environment("seed", o.seed());
        List<RunMetrics> runs = result.runs();
        for (RunMetrics r : runs) {
            double offered = Double.isInfinite(r.load().requestRate()) ? Double.NaN : r.load().requestRate();
            table.add(new ResultTable.Row("request throughput", r.load().label(), r.requestThroughput(), "req/s",
                    "offered rate", offered, Double.NaN));
        }
        if (slo.any()) {
            for (RunMetrics r : runs) {
                table.add(new ResultTable.Row("goodput (" + slo + ")", r.load().label(), r.goodput(), "req/s",
                        "request throughput", r.requestThroughput(), Double.NaN));
            }
        }
        for (RunMetrics r : runs) {
            table.add(new ResultTable.Row("output token throughput", r.load().label(), r.outputThroughput(), "tok/s",
                    "", Double.NaN, Double.NaN));
        }
        for (RunMetrics r : runs) {
            table.add(new ResultTable.Row("total token throughput", r.load().label(), r.totalTokenThroughput(),
                    "tok/s", "", Double.NaN, Double.NaN));
        }
        latencyRows(table, runs, "TTFT", RunMetrics::ttft, slo.ttftMs());
        latencyRows(table, runs, "TPOT", RunMetrics::tpot, slo.tpotMs());
        latencyRows(table, runs, "ITL", RunMetrics::itl, Double.NaN);
        latencyRows(table, runs, "E2EL", RunMetrics::e2el, slo.e2elMs());
        for (RunMetrics r : runs) {
            table.add(new ResultTable.Row("failed requests", r.load().label(), r.failed(), "", "requests sent",
                    r.completed() + r.failed(), Double.NaN));
        }
        for (int i = 0; i < runs.size(); i++) {
            RunMetrics r = runs.get(i);
            Map<String, Object> json = r.toJson();
            if (!result.details().isEmpty()) {
                json.put("requests", result.details().get(i));
            }
            table.run(json);
            if (r.failed() > 0) {
                table.note(r.load().label() + ": failures by kind " + r.errors() + "; first: "
                        + r.errorSamples().getFirst());
            }
        }
        table.note("TTFT: send to first output chunk; TPOT: (E2EL - TTFT) / (output tokens - 1) per request; ITL:"
                + " every gap between output chunks; E2EL: send to data: [DONE]. Latency peers are the SLOs;"
                + " percentiles interpolate linearly; all figures count successful requests only");
        return table;
    }

    /**
     * The results as written.
     *
     * @param files {@code name.json}, {@code name.md} and, for a sweep, {@code name-latency.png}
     */
    public record Written(ResultTable table, List<Path> files) {}

    /** Writes {@code name.json} and {@code name.md} into {@code dir}, and for a sweep {@code name-latency.png}. */
    public static Written write(ServeBench.Result result, Path dir, String name) throws IOException {
        ResultTable table = table(result);
        List<Path> files = new ArrayList<>(List.of(dir.resolve(name + ".json"), dir.resolve(name + ".md")));
        Files.createDirectories(dir);
        if (result.runs().size() > 1) {
            String png = name + "-latency.png";
            plot(result.runs(), dir.resolve(png));
            table.figure("latency against output token throughput", png);
            files.add(dir.resolve(png));
        }
        table.write(dir, name);
        return new Written(table, files);
    }

    /** TTFT p50 and p99 above, TPOT p50 and p99 below, each against output token throughput. */
    static void plot(List<RunMetrics> runs, Path png) throws IOException {
        double[] x = values(runs, RunMetrics::outputThroughput);
        List<String> labels = runs.stream().map(r -> r.load().label()).toList();
        String xLabel = "output token throughput (tokens/s)";
        LatencyPlot.write(png, List.of(
                new LatencyPlot.Panel("Time to first token", xLabel, "TTFT (ms)", List.of(
                        new LatencyPlot.Series("p50", x, values(runs, r -> r.ttft().p50())),
                        new LatencyPlot.Series("p99", x, values(runs, r -> r.ttft().p99()))), labels),
                new LatencyPlot.Panel("Time per output token", xLabel, "TPOT (ms)", List.of(
                        new LatencyPlot.Series("p50", x, values(runs, r -> r.tpot().p50())),
                        new LatencyPlot.Series("p99", x, values(runs, r -> r.tpot().p99()))), labels)));
    }

    private record Stat(String name, ToDoubleFunction<Distribution> of) {}

    private static final List<Stat> STATS = List.of(new Stat("mean", Distribution::mean),
            new Stat("p50", Distribution::p50), new Stat("p90", Distribution::p90), new Stat("p99", Distribution::p99));

    private static void latencyRows(ResultTable table, List<RunMetrics> runs, String name,
            Function<RunMetrics, Distribution> metric, double sloMs) {
        String peer = Double.isNaN(sloMs) ? "" : "SLO";
        for (Stat stat : STATS) {
            for (RunMetrics r : runs) {
                table.add(new ResultTable.Row(name + " " + stat.name(), r.load().label(),
                        stat.of().applyAsDouble(metric.apply(r)), "ms", peer, sloMs, Double.NaN));
            }
        }
    }

    private static double[] values(List<RunMetrics> runs, ToDoubleFunction<RunMetrics> f) {
        return runs.stream().mapToDouble(f).toArray();
    }
}
