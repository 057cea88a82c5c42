package dev.afd.ffn.core.placement;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Measured routed tokens per expert: the gateway's Prometheus counter {@value #METRIC}{@code {expert="ID"}} (other
 * series, comments and extra labels are ignored; series with the same expert are summed, e.g. over models), or a
 * JSON map {@code {"ID": count, ...}}.
 *
 * @param source where the counts came from, for messages
 * @param tokens routed tokens by expert id; experts never seen are absent
 */
public record ExpertLoad(String source, SortedMap<Integer, Double> tokens) {
    /** The gateway's counter of tokens routed to each expert, summed over layers. */
    public static final String METRIC = "afd_expert_routed_tokens_total";

    private static final ObjectMapper JSON = new ObjectMapper();

    public ExpertLoad {
        tokens = Collections.unmodifiableSortedMap(new TreeMap<>(tokens));
    }

    /** Parses either form: a JSON object when the text starts with {@code {}, Prometheus text otherwise. */
    public static ExpertLoad parse(String text, String source) {
        return text.stripLeading().startsWith("{") ? parseJson(text, source) : parsePrometheus(text, source);
    }

    /** The experts' counts as an array indexed by expert id, 0 for experts never seen. */
    public double[] perExpert(int experts) {
        if (!tokens.isEmpty() && tokens.lastKey() >= experts) {
            throw new IllegalArgumentException(source + " counts tokens for expert " + tokens.lastKey()
                    + ", but the model has " + experts + " routed experts (0-" + (experts - 1)
                    + "); is it the load of another model?");
        }
        double[] load = new double[experts];
        tokens.forEach((expert, count) -> load[expert] = count);
        return load;
    }

    /** One more than the largest expert id counted, 0 when none is. */
    public int expertsSeen() {
        return tokens.isEmpty() ? 0 : tokens.lastKey() + 1;
    }

    private static ExpertLoad parseJson(String text, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + " is not valid JSON (line " + e.getLocation().getLineNr()
                    + "): " + e.getOriginalMessage());
        }
        if (!root.isObject()) {
            throw new IllegalArgumentException(source + ": expected a JSON object of expert id to routed tokens,"
                    + " e.g. {\"0\": 123, \"1\": 456}");
        }
        Map<Integer, Double> tokens = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String where = source + ": \"" + e.getKey() + "\"";
            if (!e.getValue().isNumber()) {
                throw new IllegalArgumentException(where + " is " + e.getValue() + ", not a number of tokens");
            }
            tokens.merge(expertId(e.getKey(), where), count(e.getValue().asDouble(), where), Double::sum);
        }
        return new ExpertLoad(source, new TreeMap<>(tokens));
    }

    private static ExpertLoad parsePrometheus(String text, String source) {
        SortedMap<Integer, Double> tokens = new TreeMap<>();
        boolean found = false;
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#") || !isSeriesOf(line)) {
                continue;
            }
            found = true;
            String where = source + " line " + (i + 1);
            int close = line.lastIndexOf('}');
            if (!line.startsWith("{", METRIC.length()) || close < 0) {
                throw new IllegalArgumentException(where + ": " + METRIC + " without an expert label: " + line);
            }
            String expert = Labels.value(line.substring(METRIC.length() + 1, close), "expert", where);
            if (expert == null) {
                throw new IllegalArgumentException(where + ": " + METRIC + " without an expert label: " + line);
            }
            // The value, optionally followed by a timestamp.
            String[] rest = line.substring(close + 1).strip().split("\\s+");
            double value;
            try {
                value = Double.parseDouble(rest[0]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + ": '" + rest[0] + "' is not a number: " + line);
            }
            tokens.merge(expertId(expert, where), count(value, where), Double::sum);
        }
        if (!found) {
            throw new IllegalArgumentException(source + " has no " + METRIC + " series; give an attention node's"
                    + " /metrics (after some traffic) or a JSON map {\"EXPERT\": tokens, ...}");
        }
        return new ExpertLoad(source, tokens);
    }

    /** Whether a sample line belongs to the counter (and not to a longer name that starts like it). */
    private static boolean isSeriesOf(String line) {
        if (!line.startsWith(METRIC) || line.length() == METRIC.length()) {
            return false;
        }
        char next = line.charAt(METRIC.length());
        return next == '{' || next == ' ' || next == '\t';
    }

    private static int expertId(String text, String where) {
        try {
            int id = Integer.parseInt(text.strip());
            if (id >= 0) {
                return id;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(where + ": expert '" + text + "' is not an expert id (0, 1, ...)");
    }

    private static double count(double value, String where) {
        if (!Double.isFinite(value) || value < 0) {
            throw new IllegalArgumentException(where + ": " + value + " is not a count of tokens (finite, >= 0)");
        }
        return value;
    }

    /** Prometheus label sets: {@code name="value",...} with {@code \"}, {@code \\} and {@code \n} escapes. */
    private static final class Labels {
        private Labels() {
        }

        /** The value of label {@code wanted}, or null when the set has no such label. */
        static String value(String labels, String wanted, String where) {
            int i = 0;
            while (i < labels.length()) {
                int eq = labels.indexOf('=', i);
                if (eq < 0 || eq + 1 >= labels.length() || labels.charAt(eq + 1) != '"') {
                    if (labels.substring(i).strip().isEmpty()) {
                        break;
                    }
                    throw new IllegalArgumentException(where + ": malformed labels {" + labels + "}");
                }
                String name = labels.substring(i, eq).strip();
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                for (; j < labels.length() && labels.charAt(j) != '"'; j++) {
                    char c = labels.charAt(j);
                    if (c == '\\' && j + 1 < labels.length()) {
                        char escaped = labels.charAt(++j);
                        value.append(escaped == 'n' ? '\n' : escaped);
                    } else {
                        value.append(c);
                    }
                }
                if (j >= labels.length()) {
                    throw new IllegalArgumentException(where + ": unterminated label value in {" + labels + "}");
                }
                if (name.equals(wanted)) {
                    return value.toString();
                }
                i = j + 1;
                while (i < labels.length() && (labels.charAt(i) == ',' || labels.charAt(i) == ' ')) {
                    i++;
                }
            }
            return null;
        }
    }
}
