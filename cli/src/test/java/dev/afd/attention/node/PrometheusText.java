package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One scrape of a {@code /metrics} endpoint over real HTTP, parsed from the Prometheus text format into its samples,
 * for tests to look series up by name and labels.
 */
public record PrometheusText(List<Sample> samples) {
    /** A sample line: {@code name{labels} value}. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    private static final Pattern LINE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** GETs {@code url}, expecting 200 and the Prometheus text content type. */
    public static PrometheusText scrape(String url) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET %s", url).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).as("content type of %s", url).hasValueSatisfying(
                t -> assertThat(t).startsWith("text/plain"));
        return parse(r.body());
    }

    static PrometheusText parse(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher m = LINE.matcher(line);
            assertThat(m.find()).as("a sample line: %s", line).isTrue();
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            out.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
        }
        return new PrometheusText(List.copyOf(out));
    }

    /** The samples of {@code name} whose labels include {@code labels} (name, value, name, value, ...). */
    public List<Sample> find(String name, String... labels) {
        return samples.stream().filter(s -> s.name().equals(name)).filter(s -> {
            for (int i = 0; i < labels.length; i += 2) {
                if (!labels[i + 1].equals(s.labels().get(labels[i]))) {
                    return false;
                }
            }
            return true;
        }).toList();
    }

    /** The value of the one sample of {@code name} with {@code labels}; fails when there is none or several. */
    public double value(String name, String... labels) {
        List<Sample> found = find(name, labels);
        assertThat(found).as("samples of %s %s", name, List.of(labels)).hasSize(1);
        return found.getFirst().value();
    }

    /** The sum over every sample of {@code name} with {@code labels}, as PromQL's {@code sum()}. */
    public double sum(String name, String... labels) {
        List<Sample> found = find(name, labels);
        assertThat(found).as("samples of %s %s", name, List.of(labels)).isNotEmpty();
        return found.stream().mapToDouble(Sample::value).sum();
    }
}
