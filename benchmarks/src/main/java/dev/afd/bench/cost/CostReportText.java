package dev.afd.bench.cost;

import java.util.Locale;

/** Formats a {@link CostReport} for a terminal: each figure next to the figures it is made of. */
final class CostReportText {
    private CostReportText() {}

    static String format(CostReport r) {
        StringBuilder s = new StringBuilder();
        ModelSpec m = r.model();
        line(s, "%s (%s): %s", m.name(), m.modelType(), m.shape());
        line(s, "parameters: %s stored, %s activated per token (attention %s, FFN %s, embedding + lm_head %s)",
                billions(m.totalParams()), billions(m.activatedParams()), billions(m.attentionParams()),
                billions(m.ffn().activatedParams(m.hiddenSize())), billions(m.embeddingParams()));
        for (CostReport.AtContext at : r.contexts()) {
            s.append('\n');
            work(s, m, at.costs().work(), r.kvBytesPerValue());
            s.append('\n');
            costs(s, at.costs());
            if (at.capacity() != null) {
                s.append('\n');
                capacity(s, m, at.capacity());
            }
        }
        if (r.exchange() != null) {
            s.append('\n');
            exchange(s, r.exchange());
        }
        return s.toString();
    }

    private static void exchange(StringBuilder s, ExchangeBudget e) {
        line(s, "Exchanges alone (measured overhead %.0f us per layer exchange):", e.exchangeMicros());
        line(s, "  per stage: %.0f us against T = %s ms / (%d micro-batches x %d layers) = %.1f us: %.2fx the budget%s",
                e.exchangeMicros(), plain(e.tpotSeconds() * 1e3), e.microBatches(), e.layers(),
                e.stageBudgetMicros(), e.ofStageBudget(), e.ofStageBudget() > 1 ? " (over)" : "");
        line(s, "  if nothing overlaps: %d layers x %d micro-batches x %.0f us = %.1f ms, %.0f%% of the %s ms TPOT",
                e.layers(), e.microBatches(), e.exchangeMicros(), e.serialSeconds() * 1e3,
                100 * e.serialShareOfTpot(), plain(e.tpotSeconds() * 1e3));
    }

    private static void work(StringBuilder s, ModelSpec m, TokenWork w, double kvBytesPerValue) {
        AttentionSpec a = m.attention();
        int layers = m.fullLayers();
        SlidingLayers sl = m.sliding();
        line(s, "Per decoded token at %,d tokens of context, over all %d layers (KV cache at %s bits per value):",
                w.context(), m.numLayers(), plain(kvBytesPerValue * 8));
        if (sl.layers() == 0) {
            line(s, "  KV bytes read     %-9s = %,d tokens x %,.0f B (%d values x %d layers x %s B)",
                    sci(w.kvBytes()), w.context(), w.kvBytesPerContextToken(), a.kvValuesPerToken(), layers,
                    plain(kvBytesPerValue));
            line(s, "  attention FLOPs   %-9s = %,d tokens x %,d [%s] x %d layers", sci(w.attentionFlops()),
                    w.context(), a.flopsPerContextToken(), a.flopsPerContextTokenExpression(), layers);
        } else {
            AttentionSpec b = sl.attention();
            long visible = sl.visible(w.context());
            line(s, "  KV bytes read     %-9s = (%,d tokens x %d values x %d full layers + %,d tokens x %d values x"
                    + " %d sliding layers) x %s B", sci(w.kvBytes()), w.context(), a.kvValuesPerToken(), layers,
                    visible, b.kvValuesPerToken(), sl.layers(), plain(kvBytesPerValue));
            line(s, "  attention FLOPs   %-9s = %,d tokens x %,d [%s] x %d full layers + %,d tokens x %,d [%s] x %d"
                    + " sliding layers", sci(w.attentionFlops()), w.context(), a.flopsPerContextToken(),
                    a.flopsPerContextTokenExpression(), layers, visible, b.flopsPerContextToken(),
                    b.flopsPerContextTokenExpression(), sl.layers());
        }
        line(s, "  linear FLOPs      %-9s = 2 x %s projection weights (%s per %slayer)", sci(w.linearFlops()),
                billions(m.attentionParams()), millions(a.projectionParams(m.hiddenSize())),
                sl.layers() == 0 ? "" : "full ");
        line(s, "  FFN FLOPs         %-9s = 2 x %s FFN weights a token activates (router not counted)",
                sci(w.ffnFlops()), billions(m.ffn().activatedParams(m.hiddenSize())));
        line(s, "  attention intensity %.0f FLOPs per KV byte", w.attentionIntensity());
    }

    private static void costs(StringBuilder s, CostModel.CostTable t) {
        line(s, "Decoding cost, USD per 1M tokens, chips at full use (%s):", t.precision() == Precision.FP8
                ? "FLOPs at the FP8 rate where the chip has one, else BF16" : "FLOPs at the BF16 rate");
        line(s, "  %-6s %-5s %-9s %-9s %-8s | %-9s %-7s %-7s %-18s | %s", "chip", "rate", "USD/FLOP", "USD/byte",
                "roofline", "attn math", "KV read", "linear", "attention (bound)", "FFN");
        for (CostModel.ChipCost c : t.chips()) {
            line(s, "  %-6s %-5s %-9s %-9s %-8.0f | %-9.3f %-7.3f %-7.3f %-18s | %.3f", c.chip(), c.rate(),
                    sci(c.usdPerFlop()), sci(c.usdPerByte()), c.roofline(), c.attentionCompute(), c.kvRead(),
                    c.linear(), String.format(Locale.ROOT, "%.3f (%s)", c.attention(), c.attentionBound()), c.ffn());
        }
        line(s, "  attention = max(attn math, KV read) + linear; FFN = FFN FLOPs x USD/FLOP; communication hidden");
        CostModel.Pairing b = t.best();
        line(s, "Best pairing: attention on %s (%.3f) + FFN on %s (%.3f) = %.3f USD per 1M tokens%s",
                b.attentionChip(), b.attention(), b.ffnChip(), b.ffn(), b.total(),
                b.disaggregated() ? " (attention and FFN on different chips)" : " (one chip type for both)");
    }

    private static void capacity(StringBuilder s, ModelSpec m, CapacityPlanner.Plan p) {
        CapacityPlanner.Question q = p.question();
        CapacityPlanner.AttentionSide a = p.attention();
        CapacityPlanner.FfnSide f = p.ffn();
        line(s, "Capacity for TPOT %s ms, batch %,d at %,d tokens of context: attention on %s, FFN on %s"
                + " (%.0f%% of peak rates, %s-bit weights, instances of %d chips)", plain(q.tpotSeconds() * 1e3),
                q.batch(), p.context(), a.chip(), f.chip(), q.efficiency() * 100,
                plain(q.weightBytesPerParam() * 8), q.instanceSize());
        line(s, "  layer budget   T = %s ms / (%d micro-batches x %d layers) = %.1f us for each of attention,"
                + " network and FFN", plain(q.tpotSeconds() * 1e3), p.microBatches(), m.numLayers(),
                us(p.layerBudget()));
        line(s, "  micro-batches  m = %d: the smallest m >= 2 (1 + Tc/Tf) = 2 (1 + %.1f/%.1f) = %.2f",
                p.microBatches(), us(p.network()), us(p.layerBudget()), p.ruleMinimum());
        line(s, "  micro-batch    %,d sequence(s)", p.microBatchSequences());
        line(s, "  attention      %d %s = %d instance(s); needs %.1f for time, %.1f for memory, %.1f for network",
                a.chips(), a.chip(), a.instances(), a.chipsForTime(), a.chipsForMemory(), a.chipsForNetwork());
        line(s, "                 per micro-batch and layer: max(math %.1f us, KV %.1f us + weights %.1f us)"
                + " + linear %.1f us = %.1f us", us(a.attentionMath()), us(a.kvReads()), us(a.weightReads()),
                us(a.linearMath()), us(a.stage()));
        line(s, "                 memory per chip: %.1f GB (weights %.1f GB + KV %.1f GB)", a.memoryPerChip() / 1e9,
                a.weightsPerChip() / 1e9, (a.memoryPerChip() - a.weightsPerChip()) / 1e9);
        line(s, "  FFN            %d %s = %d instance(s); needs %.1f for compute, %.1f for weight reads, %.1f for"
                + " memory, %.1f for network", f.chips(), f.chip(), f.instances(), f.chipsForCompute(),
                f.chipsForWeightReads(), f.chipsForMemory(), f.chipsForNetwork());
        line(s, "                 per micro-batch and layer: max(math %.1f us, weight reads %.1f us) = %.1f us;"
                + " memory per chip %.1f GB", us(f.math()), us(f.weightReads()), us(f.stage()),
                f.memoryPerChip() / 1e9);
        line(s, "  network        per token and layer %,.0f B out (FP8), %,.0f B back (BF16): Tc = %.1f us",
                p.bytesOutPerToken(), p.bytesBackPerToken(), us(p.network()));
        line(s, "  ratio          attention : FFN chips = %d : %d = %.2f (%dA%dF)", a.chips(), f.chips(),
                (double) a.chips() / f.chips(), a.instances(), f.instances());
        line(s, "  output         %,.0f tokens/s, %,.0f per chip; %.3f USD per 1M tokens at these chip counts",
                p.tokensPerSecond(), p.tokensPerChipSecond(), p.usdPerMillionTokens());
    }

    private static void line(StringBuilder s, String format, Object... args) {
        s.append(String.format(Locale.ROOT, format, args)).append('\n');
    }

    /** {@code 2.56e8}: three significant digits, as the paper prints. */
    static String sci(double v) {
        String t = String.format(Locale.ROOT, "%.2e", v);
        return t.replace("e+0", "e").replace("e+", "e").replace("e-0", "e-");
    }

    private static String billions(long params) {
        return String.format(Locale.ROOT, "%.2f B", params / 1e9);
    }

    private static String millions(long params) {
        return String.format(Locale.ROOT, "%.1f M", params / 1e6);
    }

    private static double us(double seconds) {
        return seconds * 1e6;
    }

    /** {@code 8} rather than {@code 8.0}; fractions kept. */
    private static String plain(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
