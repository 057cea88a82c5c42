package dev.afd.bench.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Service-level objectives for goodput: a request is good when each given bound holds (vLLM's {@code --goodput}).
 * Bounds are in milliseconds; NaN means "no bound".
 */
public record Slo(double ttftMs, double tpotMs, double e2elMs) {
    public static final Slo NONE = new Slo(Double.NaN, Double.NaN, Double.NaN);

    /** Parses {@code ttft:500}, {@code tpot:50}, {@code e2el:2000} entries; no entries means no goodput. */
    public static Slo parse(List<String> entries) {
        double ttft = Double.NaN;
        double tpot = Double.NaN;
        double e2el = Double.NaN;
        for (String entry : entries) {
            for (String part : entry.split(",")) {
                String p = part.trim();
                if (p.isEmpty()) {
                    continue;
                }
                int colon = p.indexOf(':');
                double ms;
                try {
                    ms = colon < 0 ? Double.NaN : Double.parseDouble(p.substring(colon + 1));
                } catch (NumberFormatException e) {
                    ms = Double.NaN;
                }
                if (!(ms > 0)) {
                    throw new IllegalArgumentException("bad --goodput entry '" + p
                            + "': use NAME:MILLISECONDS with NAME one of ttft, tpot, e2el, e.g. ttft:500,tpot:50");
                }
                switch (p.substring(0, colon).toLowerCase(Locale.ROOT)) {
                    case "ttft" -> ttft = ms;
                    case "tpot" -> tpot = ms;
                    case "e2el" -> e2el = ms;
                    default -> throw new IllegalArgumentException("unknown --goodput metric '" + p.substring(0, colon)
                            + "': use ttft, tpot or e2el");
                }
            }
        }
        return new Slo(ttft, tpot, e2el);
    }

    public boolean any() {
        return !Double.isNaN(ttftMs) || !Double.isNaN(tpotMs) || !Double.isNaN(e2elMs);
    }

    /** Whether a request with these latencies meets every given bound. */
    public boolean met(double ttft, double tpot, double e2el) {
        return !(ttft > ttftMs) && !(tpot > tpotMs) && !(e2el > e2elMs);
    }

    /** The bounds as they are written on the command line, e.g. {@code ttft:500,tpot:50}. */
    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        bound(parts, "ttft", ttftMs);
        bound(parts, "tpot", tpotMs);
        bound(parts, "e2el", e2elMs);
        return String.join(",", parts);
    }

    private static void bound(List<String> parts, String name, double ms) {
        if (!Double.isNaN(ms)) {
            parts.add(name + ":" + (ms == Math.rint(ms) ? Long.toString((long) ms) : Double.toString(ms)));
        }
    }
}
