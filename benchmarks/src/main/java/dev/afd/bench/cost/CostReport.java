package dev.afd.bench.cost;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.List;

/**
 * Everything {@code afd cost} answers for one model: per-token work and cost on each chip at each context, and, when
 * asked, a capacity plan.
 *
 * @param kvBytesPerValue bytes per cached value (1 = the paper's 8-bit KV)
 */
/** @param exchange the projection of a measured exchange overhead, or null when none was given */
public record CostReport(ModelSpec model, double kvBytesPerValue, Precision precision, List<AtContext> contexts,
        ExchangeBudget exchange) {

    public CostReport {
        contexts = List.copyOf(contexts);
    }

    /** @param capacity the plan, or null when no capacity question was asked */
    public record AtContext(CostModel.CostTable costs, CapacityPlanner.Plan capacity) {}

    /**
     * A capacity question without its chips fixed.
     *
     * @param attentionChip the attention chip, or null for the best pairing's attention chip at each context
     * @param ffnChip the FFN chip, or null for the best pairing's FFN chip at each context
     */
    public record CapacityRequest(int batch, double tpotSeconds, Chip attentionChip, Chip ffnChip, double efficiency,
            int instanceSize, double weightBytesPerParam) {}

    /** @param capacity null for costs only */
    public static CostReport build(ModelSpec model, List<Long> contexts, List<Chip> chips, Precision precision,
            double kvBytesPerValue, CapacityRequest capacity) {
        return build(model, contexts, chips, precision, kvBytesPerValue, capacity, null);
    }

    /** As {@link #build(ModelSpec, List, List, Precision, double, CapacityRequest)}, with an exchange projection. */
    public static CostReport build(ModelSpec model, List<Long> contexts, List<Chip> chips, Precision precision,
            double kvBytesPerValue, CapacityRequest capacity, ExchangeBudget exchange) {
        if (contexts.isEmpty()) {
            throw new CostInputException("no context lengths given");
        }
        List<AtContext> at = contexts.stream().map(context -> {
            TokenWork work = model.perToken(context, kvBytesPerValue);
            CostModel.CostTable costs = CostModel.table(work, chips, precision);
            CapacityPlanner.Plan plan = capacity == null ? null : CapacityPlanner.plan(model, work,
                    new CapacityPlanner.Question(capacity.batch(), capacity.tpotSeconds(),
                            orBest(capacity.attentionChip(), costs.best().attentionChip(), chips),
                            orBest(capacity.ffnChip(), costs.best().ffnChip(), chips), precision,
                            capacity.efficiency(), capacity.instanceSize(), capacity.weightBytesPerParam()));
            return new AtContext(costs, plan);
        }).toList();
        return new CostReport(model, kvBytesPerValue, precision, at, exchange);
    }

    private static Chip orBest(Chip chosen, String best, List<Chip> chips) {
        return chosen != null ? chosen
                : chips.stream().filter(c -> c.name().equals(best)).findFirst().orElseThrow();
    }

    /** The report as people read it, with the intermediate figures. */
    public String toText() {
        return CostReportText.format(this);
    }

    /** The report as indented JSON, snake_case keys: costs in USD per 1M tokens, the rest in bytes, FLOPs, seconds. */
    public String toJson() {
        try {
            return new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cost report records must serialise: " + e.getMessage(), e);
        }
    }
}
