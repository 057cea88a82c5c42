package dev.afd.bench.cost;

/**
 * Sizes an AFD deployment for a target time per output token (TPOT), on a theoretical roofline: how many attention
 * and FFN chips, how many micro-batches, and the time each layer may take.
 *
 * <p>The pipeline ([P] §3, §7.1): the batch is split into {@code m} micro-batches; in every layer the attention side
 * runs them one after another, sends each to the FFN side and gets it back, so attention, network and FFN each work
 * on a different micro-batch at once. A decode step then takes {@code m × layers} stage slots, so each slot is
 * <pre>T = TPOT / (m × layers)</pre>
 * (the paper: 50 ms / (3 × 61) ≈ 272 µs). A micro-batch's round trip, attention + network + FFN + network, must fit
 * in the {@code m} slots before its next turn: with both compute stages sized to the slot that is the
 * MegaScale-Infer rule {@code m >= 2 (1 + Tc / Tf)} with {@code Tf = T}; the planner picks the smallest such
 * {@code m}.
 *
 * <p>Each side gets enough chips for the tightest of its constraints:
 * <ul>
 *   <li>attention (data-parallel: each chip decodes its own sequences and holds every attention weight): within
 *       {@code T}, {@code max(attention math, KV reads + weight reads) + linear math} of its share of the
 *       micro-batch; the KV cache of the whole batch plus the weights must fit its memory;
 *   <li>FFN: {@code T} covers the micro-batch's FLOPs and, separately, reading the weights the micro-batch
 *       touches (every dense MLP, shared expert and router, and the routed experts some token picks, expected
 *       under uniform routing); all FFN weights must fit its memory;
 *   <li>network: {@code Tc <= T} on both sides; per token and layer {@code H} bytes go out (FP8 activations) and
 *       {@code 2H} come back (BF16), on separate paths, so the return path sets {@code Tc}. Scales and routing
 *       metadata (a few percent) are not counted.
 * </ul>
 * Chips are rounded up to whole instances. Not modelled: activations' memory, embedding and {@code lm_head} time,
 * pipeline fill, stragglers; {@code efficiency} scales every peak rate to what kernels and links really reach.
 */
public final class CapacityPlanner {
    /** Micro-batch counts tried before giving up; the network constraint keeps the answer at 3 or 4. */
    private static final int MAX_MICRO_BATCHES = 16;

    private CapacityPlanner() {}

    /**
     * @param batch sequences decoding together across the attention instances of one deployment
     * @param tpotSeconds target time per output token
     * @param efficiency fraction of peak FLOP/s, memory and network bandwidth reached, in (0, 1]
     * @param instanceSize chips per attention or FFN instance
     * @param weightBytesPerParam bytes per stored weight (1 for the paper's 8-bit weights)
     */
    public record Question(int batch, double tpotSeconds, Chip attentionChip, Chip ffnChip, Precision precision,
            double efficiency, int instanceSize, double weightBytesPerParam) {
        public Question {
            if (batch <= 0) {
                throw new CostInputException("batch must be positive, got " + batch);
            }
            if (!(tpotSeconds > 0)) {
                throw new CostInputException("TPOT must be positive, got " + tpotSeconds + " s");
            }
            if (!(efficiency > 0 && efficiency <= 1)) {
                throw new CostInputException("efficiency must be in (0, 1], got " + efficiency);
            }
            if (instanceSize <= 0) {
                throw new CostInputException("instance size must be at least 1 chip, got " + instanceSize);
            }
            if (!(weightBytesPerParam > 0)) {
                throw new CostInputException("weight bytes per parameter must be positive, got " + weightBytesPerParam);
            }
            for (Chip c : new Chip[] {attentionChip, ffnChip}) {
                if (c.memoryBytes() == null || c.nicBandwidth() == null) {
                    throw new CostInputException("chip " + c.name() + " has no memory_bytes or nic_bytes_per_second"
                            + " in the hardware table; capacity plans need both");
                }
            }
        }
    }

    /**
     * The attention side. Chip counts before rounding say which constraint binds; times are per micro-batch per
     * layer on the provisioned chips, in seconds.
     */
    public record AttentionSide(String chip, double chipsForTime, double chipsForMemory, double chipsForNetwork,
            int chips, int instances, double attentionMath, double kvReads, double weightReads, double linearMath,
            double stage, double memoryPerChip, double weightsPerChip) {}

    /** The FFN side, as {@link AttentionSide}. */
    public record FfnSide(String chip, double chipsForCompute, double chipsForWeightReads, double chipsForMemory,
            double chipsForNetwork, int chips, int instances, double math, double weightReads, double stage,
            double memoryPerChip) {}

    /**
     * @param microBatches {@code m}
     * @param microBatchSequences sequences per micro-batch
     * @param layerBudget {@code T}, seconds per layer per micro-batch for each stage
     * @param bytesOutPerToken activation bytes per token per layer to the FFN side
     * @param bytesBackPerToken activation bytes per token per layer back
     * @param network {@code Tc}, seconds per micro-batch per layer on the slower side's links
     * @param ruleMinimum {@code 2 (1 + Tc / T)}
     * @param tokensPerSecond decoded tokens per second of the whole deployment
     * @param tokensPerChipSecond the same per chip
     * @param usdPerMillionTokens the deployment's rent over its output
     */
    public record Plan(Question question, long context, int microBatches, long microBatchSequences,
            double layerBudget, AttentionSide attention, FfnSide ffn, double bytesOutPerToken,
            double bytesBackPerToken, double network, double ruleMinimum, double tokensPerSecond,
            double tokensPerChipSecond, double usdPerMillionTokens) {}

    public static Plan plan(ModelSpec model, TokenWork work, Question q) {
        for (int m = 2; m <= MAX_MICRO_BATCHES; m++) {
            Plan p = plan(model, work, q, m);
            if (m >= p.ruleMinimum()) {
                if (q.batch() < m) {
                    throw new CostInputException("a batch of " + q.batch() + " cannot fill the " + m
                            + " micro-batches the pipeline needs; raise --batch to at least " + m);
                }
                return p;
            }
        }
        throw new IllegalStateException("no micro-batch count up to " + MAX_MICRO_BATCHES + " satisfies the pipeline"
                + " rule, although the network constraint keeps Tc <= T; this is a bug");
    }

    /** The plan with exactly {@code m} micro-batches. */
    static Plan plan(ModelSpec model, TokenWork work, Question q, int m) {
        int layers = model.numLayers();
        double budget = q.tpotSeconds() / ((double) m * layers);
        long micro = (q.batch() + m - 1) / m;
        double bytesOut = model.hiddenSize();
        double bytesBack = 2.0 * model.hiddenSize();

        AttentionSide attention = attentionSide(model, work, q, budget, micro, bytesBack);
        FfnSide ffn = ffnSide(model, work, q, budget, micro, bytesBack);
        double links = Math.min(attention.chips() * q.attentionChip().nicBandwidth(),
                ffn.chips() * q.ffnChip().nicBandwidth()) * q.efficiency();
        double network = micro * bytesBack / links;

        double tokensPerSecond = q.batch() / q.tpotSeconds();
        double usdPerSecond = (attention.chips() * q.attentionChip().pricePerHour()
                + ffn.chips() * q.ffnChip().pricePerHour()) / 3600;
        return new Plan(q, work.context(), m, micro, budget, attention, ffn, bytesOut, bytesBack, network,
                2 * (1 + network / budget), tokensPerSecond, tokensPerSecond / (attention.chips() + ffn.chips()),
                usdPerSecond / tokensPerSecond * CostModel.TOKENS);
    }

    private static AttentionSide attentionSide(ModelSpec model, TokenWork work, Question q, double budget,
            long micro, double bytesBack) {
        Chip chip = q.attentionChip();
        int layers = model.numLayers();
        double flops = chip.flops(q.precision()) * q.efficiency();
        double bandwidth = chip.memoryBandwidth() * q.efficiency();
        // Per token per layer, seconds on one chip.
        double math = work.attentionFlops() / layers / flops;
        double kv = work.kvBytes() / layers / bandwidth;
        double linear = work.linearFlops() / layers / flops;
        double weightRead = model.attentionParams() * q.weightBytesPerParam() / layers / bandwidth;
        if (weightRead >= budget) {
            throw new CostInputException(String.format(java.util.Locale.ROOT, "reading one layer's attention weights"
                    + " takes %.0f us on %s but a layer may take only %.0f us; raise --tpot-ms or use a chip with"
                    + " faster memory", weightRead * 1e6, chip.name(), budget * 1e6));
        }
        double perChipByMath = budget / (math + linear);
        double perChipByReads = (budget - weightRead) / (kv + linear);
        double forTime = micro / Math.min(perChipByMath, perChipByReads);

        double weights = (model.attentionParams() + model.embeddingParams()) * q.weightBytesPerParam();
        double free = chip.memoryBytes() - weights;
        if (free <= 0) {
            throw new CostInputException(String.format(java.util.Locale.ROOT, "attention weights, embedding and"
                    + " lm_head (%.1f GB) do not fit in one %s (%.1f GB); lower --weight-bits or pick a larger chip",
                    weights / 1e9, chip.name(), chip.memoryBytes() / 1e9));
        }
        double kvTotal = q.batch() * work.kvBytes();
        double forMemory = kvTotal / free;
        double forNetwork = micro * bytesBack / (chip.nicBandwidth() * q.efficiency() * budget);

        int chips = wholeInstances(Math.max(forTime, Math.max(forMemory, forNetwork)), q.instanceSize());
        double share = (double) micro / chips;
        double stage = Math.max(share * math, share * kv + weightRead) + share * linear;
        return new AttentionSide(chip.name(), forTime, forMemory, forNetwork, chips, chips / q.instanceSize(),
                share * math, share * kv, weightRead, share * linear, stage, weights + kvTotal / chips, weights);
    }

    private static FfnSide ffnSide(ModelSpec model, TokenWork work, Question q, double budget, long micro,
            double bytesBack) {
        Chip chip = q.ffnChip();
        int layers = model.numLayers();
        double flops = chip.flops(q.precision()) * q.efficiency();
        double bandwidth = chip.memoryBandwidth() * q.efficiency();
        // Per micro-batch per layer, seconds on one chip.
        double math = micro * work.ffnFlops() / layers / flops;
        double reads = model.ffn().streamedParams(model.hiddenSize(), micro) * q.weightBytesPerParam() / layers
                / bandwidth;
        double weights = model.ffn().totalParams(model.hiddenSize()) * q.weightBytesPerParam();
        double forMemory = weights / chip.memoryBytes();
        double forNetwork = micro * bytesBack / (chip.nicBandwidth() * q.efficiency() * budget);
        int chips = wholeInstances(Math.max(Math.max(math, reads) / budget, Math.max(forMemory, forNetwork)),
                q.instanceSize());
        return new FfnSide(chip.name(), math / budget, reads / budget, forMemory, forNetwork, chips,
                chips / q.instanceSize(), math / chips, reads / chips, Math.max(math, reads) / chips,
                weights / chips);
    }

    private static int wholeInstances(double chips, int instanceSize) {
        int instances = (int) Math.ceil(chips / instanceSize - 1e-9);
        return Math.max(1, instances) * instanceSize;
    }
}
