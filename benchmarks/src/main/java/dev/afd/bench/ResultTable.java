package dev.afd.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results of one benchmark run, every figure next to the roofline or peer it should be judged against. Written
 * as JSON (for tools) and markdown (for people) with the same rows. This is the one results format of every
 * {@code afd bench} command: {@code benchmark}, {@code environment}, {@code results} (the rows), {@code notes}, and,
 * where a benchmark has them, {@code runs} (detailed per-run figures, e.g. latency percentiles, JSON only) and
 * {@code figures} (plots written beside the files, linked from the markdown).
 */
public final class ResultTable {
    /**
     * @param metric what was measured, e.g. {@code "one-row matmul"}
     * @param config the case, e.g. a shape or a batch size
     * @param value the measured figure
     * @param unit its unit
     * @param peer what it is compared with, e.g. {@code "memory read bandwidth"}
     * @param peerValue the peer's figure in the same unit (NaN when it could not be measured)
     * @param target the fraction of the peer the figure should reach (NaN when there is no target)
     */
    public record Row(String metric, String config, double value, String unit, String peer, double peerValue,
            double target) {
        public double ratio() {
            return value / peerValue;
        }

        public String verdict() {
            if (Double.isNaN(target) || Double.isNaN(peerValue)) {
                return "";
            }
            return ratio() >= target ? "meets" : "below";
        }
    }

    private final String benchmark;
    private final Map<String, Object> environment = new LinkedHashMap<>();
    private final List<Row> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private final List<Object> runs = new ArrayList<>();
    private final List<Figure> figures = new ArrayList<>();

    /**
     * A plot that belongs to the results.
     *
     * @param caption what it shows
     * @param file its file name, relative to the folder the results are written to
     */
    public record Figure(String caption, String file) {}

    public ResultTable(String benchmark) {
        this.benchmark = benchmark;
        environment.put("cores", Runtime.getRuntime().availableProcessors());
        environment.put("java", Runtime.version().toString());
        environment.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        environment.put("date", Instant.now().toString());
    }

    public ResultTable environment(String key, Object value) {
        environment.put(key, value);
        return this;
    }

    public ResultTable add(Row row) {
        rows.add(row);
        return this;
    }

    public ResultTable note(String note) {
        notes.add(note);
        return this;
    }

    /** Adds one run's detailed figures; anything Jackson can write (maps, lists, records, numbers). */
    public ResultTable run(Object details) {
        runs.add(details);
        return this;
    }

    /** Links a plot that the caller writes into the same folder as the results. */
    public ResultTable figure(String caption, String file) {
        figures.add(new Figure(caption, file));
        return this;
    }

    public List<Row> rows() {
        return List.copyOf(rows);
    }

    public String toMarkdown() {
        StringBuilder md = new StringBuilder("# " + benchmark + "\n\n");
        environment.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
        md.append("\n| metric | case | measured | peer | peer value | ratio | target |\n");
        md.append("|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %s %s | %s | %s | %s | %s |%n", r.metric(), r.config(),
                    number(r.value()), r.unit(), r.peer(), number(r.peerValue()),
                    Double.isNaN(r.ratio()) ? "n/a" : String.format(Locale.ROOT, "%.0f%%", 100 * r.ratio()),
                    Double.isNaN(r.target()) ? "" : String.format(Locale.ROOT, "≥ %.0f%% (%s)", 100 * r.target(),
                            r.verdict())));
        }
        if (!notes.isEmpty()) {
            md.append('\n');
            notes.forEach(n -> md.append("- ").append(n).append('\n'));
        }
        for (Figure f : figures) {
            md.append("\n![").append(f.caption()).append("](").append(f.file()).append(")\n");
        }
        return md.toString();
    }

    /** Writes {@code <name>.json} and {@code <name>.md} into {@code dir}; returns the markdown path. */
    public Path write(Path dir, String name) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("benchmark", benchmark);
        json.put("environment", environment);
        List<Map<String, Object>> list = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("metric", r.metric());
            m.put("case", r.config());
            m.put("value", finite(r.value()));
            m.put("unit", r.unit());
            m.put("peer", r.peer());
            m.put("peer_value", finite(r.peerValue()));
            m.put("ratio", finite(r.ratio()));
            m.put("target", finite(r.target()));
            list.add(m);
        }
        json.put("results", list);
        json.put("notes", notes);
        if (!runs.isEmpty()) {
            json.put("runs", runs);
        }
        if (!figures.isEmpty()) {
            json.put("figures", figures);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve(name + ".json").toFile(),
                json);
        Path md = dir.resolve(name + ".md");
        Files.writeString(md, toMarkdown());
        return md;
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static String number(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }
}
