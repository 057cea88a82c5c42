package dev.afd.gateway.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The chat templates' {@code tojson} filter as Hugging Face defines it: Python's
 * {@code json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)}. Templates
 * write tool definitions and call arguments with it, so its spacing ({@code ", "} and {@code ": "}), escapes and
 * number forms are part of the prompt a model was trained on; Jinjava's own filter writes compact JSON instead.
 *
 * <p>Stateless and thread-safe.
 */
final class PythonJson implements AdvancedFilter {
    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
        boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
        String item = indent == null ? ", " : ",";
        String key = ": ";
        if (kwargs.get("separators") instanceof List<?> s && s.size() == 2) {
            item = String.valueOf(s.get(0));
            key = String.valueOf(s.get(1));
        }
        StringBuilder out = new StringBuilder();
        new Writer(indent == null ? null : " ".repeat(((Number) indent).intValue()), item, key, sortKeys)
                .value(out, value, 0);
        return out.toString();
    }

    private record Writer(String indent, String item, String key, boolean sortKeys) {
        void value(StringBuilder out, Object v, int depth) {
            switch (v) {
                case null -> out.append("null");
                case Boolean b -> out.append(b ? "true" : "false");
                case Integer i -> out.append(i);
                case Long l -> out.append(l);
                case Short s -> out.append(s);
                case Byte b -> out.append(b);
                case BigInteger i -> out.append(i);
                case Double d -> out.append(floating(d));
                case Float f -> out.append(floating(f.doubleValue()));
                case BigDecimal d -> out.append(floating(d.doubleValue()));
                case Map<?, ?> m -> object(out, m, depth);
                case Collection<?> c -> array(out, c, depth);
                case Object[] a -> array(out, List.of(a), depth);
                default -> string(out, v.toString());
            }
        }

        private void object(StringBuilder out, Map<?, ?> m, int depth) {
            if (m.isEmpty()) {
                out.append("{}");
                return;
            }
            List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
            if (sortKeys) {
                entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
            }
            out.append('{');
            for (int i = 0; i < entries.size(); i++) {
                separate(out, i, depth + 1);
                string(out, String.valueOf(entries.get(i).getKey()));
                out.append(key);
                value(out, entries.get(i).getValue(), depth + 1);
            }
            close(out, depth);
            out.append('}');
        }

        private void array(StringBuilder out, Collection<?> c, int depth) {
            if (c.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            int i = 0;
            for (Object e : c) {
                separate(out, i++, depth + 1);
                value(out, e, depth + 1);
            }
            close(out, depth);
            out.append(']');
        }

        /** Before element {@code i} at {@code depth}: the item separator (not before the first), then its line. */
        private void separate(StringBuilder out, int i, int depth) {
            if (i > 0) {
                out.append(item);
            }
            if (indent != null) {
                out.append('\n').append(indent.repeat(depth));
            }
        }

        private void close(StringBuilder out, int depth) {
            if (indent != null) {
                out.append('\n').append(indent.repeat(depth));
            }
        }
    }

    /** Python's {@code repr} of a float: the shortest digits, positional from 1e-4 up to 1e16, else 1.5e+16. */
    static String floating(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        BigDecimal shortest = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = shortest.unscaledValue().toString();
        int exponent = digits.length() - 1 - shortest.scale();
        String sign = d < 0 ? "-" : "";
        if (exponent >= -4 && exponent < 16) {
            String plain = shortest.toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "")
                + Math.abs(exponent);
    }

    /** A JSON string as Python writes it with ensure_ascii off: only quotes, backslashes and controls escaped. */
    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
