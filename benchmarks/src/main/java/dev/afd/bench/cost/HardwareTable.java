package dev.afd.bench.cost;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Chips by name (case-insensitive), in the order they were added.
 *
 * <p>File format ({@code benchmarks/hardware.json} ships the paper's four chips in it):
 * <pre>{@code
 * {"chips": [{"name": "H800", "price_per_hour": 2, "bf16_flops": 9.89e14, "fp8_flops": 1.98e15,
 *             "memory_bytes_per_second": 3.35e12, "memory_bytes": 8.0e10, "nic_bytes_per_second": 5.0e10}]}
 * }</pre>
 * {@code fp8_flops}, {@code memory_bytes} and {@code nic_bytes_per_second} may be null or absent.
 */
public final class HardwareTable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Chip> chips = new LinkedHashMap<>();

    public HardwareTable(List<Chip> chips) {
        chips.forEach(c -> this.chips.put(key(c.name()), c));
    }

    /**
     * The paper's Table 4: price and peak rates. Memory sizes are the cards' published HBM capacities and network
     * rates the paper's NIC assumption per card (8×400 Gbps per H800/H20 server, 8×200 Gbps per A800/910B server);
     * neither enters the cost figures, only capacity plans.
     */
    public static HardwareTable paper() {
        return new HardwareTable(List.of(
                new Chip("H800", 2.0, 9.89e14, 1.98e15, 3.35e12, 80e9, 50e9),
                new Chip("H20", 0.8, 1.48e14, 2.96e14, 4.00e12, 96e9, 50e9),
                new Chip("A800", 0.75, 3.12e14, null, 2.00e12, 80e9, 25e9),
                new Chip("910B", 0.67, 2.80e14, null, 1.60e12, 64e9, 25e9)));
    }

    public static HardwareTable read(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw new CostInputException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode list = root.path("chips");
        if (!list.isArray() || list.isEmpty()) {
            throw new CostInputException(file + ": expected {\"chips\": [ ... ]} with at least one chip");
        }
        List<Chip> chips = new ArrayList<>();
        for (JsonNode c : list) {
            String name = c.path("name").asText("");
            String where = file + ": chip '" + name + "'";
            if (name.isBlank()) {
                throw new CostInputException(file + ": every chip needs a \"name\"");
            }
            chips.add(new Chip(name, number(c, "price_per_hour", where), number(c, "bf16_flops", where),
                    optional(c, "fp8_flops", where), number(c, "memory_bytes_per_second", where),
                    optional(c, "memory_bytes", where), optional(c, "nic_bytes_per_second", where)));
        }
        return new HardwareTable(chips);
    }

    /** This table with {@code other}'s chips added; a chip of the same name is replaced by {@code other}'s. */
    public HardwareTable with(HardwareTable other) {
        List<Chip> merged = new ArrayList<>(chips.values());
        merged.replaceAll(c -> other.chips.getOrDefault(key(c.name()), c));
        other.chips.values().stream().filter(c -> !chips.containsKey(key(c.name()))).forEach(merged::add);
        return new HardwareTable(merged);
    }

    public List<Chip> chips() {
        return List.copyOf(chips.values());
    }

    public Chip chip(String name) {
        Chip c = chips.get(key(name));
        if (c == null) {
            throw new CostInputException("unknown chip '" + name.strip() + "'; known: "
                    + String.join(", ", chips.values().stream().map(Chip::name).toList())
                    + " (add others with --hardware-file)");
        }
        return c;
    }

    /** The named chips in the given order. */
    public List<Chip> select(List<String> names) {
        return names.stream().map(this::chip).distinct().toList();
    }

    private static String key(String name) {
        return name.strip().toUpperCase(Locale.ROOT);
    }

    private static double number(JsonNode chip, String key, String where) {
        Double v = optional(chip, key, where);
        if (v == null) {
            throw new CostInputException(where + ": " + key + " is missing");
        }
        return v;
    }

    private static Double optional(JsonNode chip, String key, String where) {
        JsonNode v = chip.path(key);
        if (v.isMissingNode() || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw new CostInputException(where + ": " + key + " must be a number, got " + v);
        }
        return v.asDouble();
    }
}
