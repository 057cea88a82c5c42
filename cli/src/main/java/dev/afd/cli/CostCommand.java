package dev.afd.cli;

import dev.afd.bench.cost.Chip;
import dev.afd.bench.cost.CostReport;
import dev.afd.bench.cost.ExchangeBudget;
import dev.afd.bench.cost.HardwareTable;
import dev.afd.bench.cost.ModelConfigs;
import dev.afd.bench.cost.ModelSpec;
import dev.afd.bench.cost.Precision;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code afd cost}: the Step-3 paper's decoding cost model and an AFD capacity plan for any model config. */
@Command(name = "cost", mixinStandardHelpOptions = true,
        description = {"Per-token KV bytes, attention, linear and FFN FLOPs of a model, its decoding cost per 1M tokens"
                + " on each chip, and the cheapest attention/FFN chip pairing (the Step-3 paper's cost model).",
            "With --batch, also sizes an AFD deployment for a TPOT target: attention and FFN chips, micro-batches"
                + " and the per-layer time budget."})
final class CostCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE",
            description = "Hugging Face config.json (step3_text, step3_vl, step3p5, deepseek_v2/v3, qwen3_moe, llama,"
                    + " mistral, qwen2, qwen3); benchmarks/configs/ has Step-3, Step-3.5-Flash, DeepSeek-V3 and"
                    + " Qwen3-MoE-235B.")
    private Path config;

    @Option(names = "--context", split = ",", defaultValue = "8192", paramLabel = "TOKENS",
            description = "Context lengths, comma-separated (default: ${DEFAULT-VALUE}).")
    private List<Long> contexts;

    @Option(names = "--hardware", split = ",", paramLabel = "CHIPS",
            description = "Chips to price, comma-separated (default: every chip in the table: H800, H20, A800, 910B"
                    + " plus those of --hardware-file).")
    private List<String> hardware;

    @Option(names = "--hardware-file", paramLabel = "FILE",
            description = "JSON file of more chips, laid out like benchmarks/hardware.json; a chip of a known name"
                    + " replaces the built-in one.")
    private Path hardwareFile;

    @Option(names = "--precision", defaultValue = "fp8", paramLabel = "fp8|bf16",
            description = "FLOPs at the FP8 rate where a chip has one (the paper's setting), or BF16 everywhere"
                    + " (default: ${DEFAULT-VALUE}).")
    private String precision;

    @Option(names = "--kv-bits", defaultValue = "8",
            description = "Bits per cached KV value; the paper assumes 8 (default: ${DEFAULT-VALUE}).")
    private double kvBits;

    @Option(names = "--batch", paramLabel = "N",
            description = "Sequences decoding together in one AFD deployment; asks for a capacity plan.")
    private Integer batch;

    @Option(names = "--tpot-ms", defaultValue = "50",
            description = "Target time per output token for the capacity plan (default: ${DEFAULT-VALUE}).")
    private double tpotMs;

    @Option(names = "--attention-chip", paramLabel = "CHIP",
            description = "Attention chip of the capacity plan (default: the cheapest attention chip).")
    private String attentionChip;

    @Option(names = "--ffn-chip", paramLabel = "CHIP",
            description = "FFN chip of the capacity plan (default: the cheapest FFN chip).")
    private String ffnChip;

    @Option(names = "--efficiency", defaultValue = "1.0",
            description = "Fraction of peak FLOP/s, memory and network bandwidth the capacity plan counts on"
                    + " (default: ${DEFAULT-VALUE}, the roofline).")
    private double efficiency;

    @Option(names = "--instance-size", defaultValue = "8",
            description = "Chips per attention or FFN instance (default: ${DEFAULT-VALUE}).")
    private int instanceSize;

    @Option(names = "--weight-bits", defaultValue = "8",
            description = "Bits per stored weight for the capacity plan (default: ${DEFAULT-VALUE}).")
    private double weightBits;

    @Option(names = "--exchange-us", paramLabel = "US",
            description = "A measured per-layer exchange overhead (exchange time minus ffn compute, e.g. from afd bench"
                    + " afd): shows what the exchanges alone cost in TPOT for this model's layers and --micro-batches,"
                    + " next to the per-stage budget --tpot-ms / (micro-batches x layers).")
    private Double exchangeUs;

    @Option(names = "--micro-batches", defaultValue = "3", paramLabel = "M",
            description = "Micro-batches for the --exchange-us projection (default: ${DEFAULT-VALUE}, as the paper).")
    private int microBatches;

    @Option(names = "--json", defaultValue = "false", description = "Print JSON instead of text.")
    private boolean json;

    @Override
    public Integer call() throws IOException {
        if (batch == null && (attentionChip != null || ffnChip != null)) {
            throw new IllegalArgumentException("--attention-chip and --ffn-chip choose the chips of a capacity plan;"
                    + " add --batch N to ask for one");
        }
        ModelSpec model = ModelConfigs.read(config);
        HardwareTable table = hardwareFile == null ? HardwareTable.paper()
                : HardwareTable.paper().with(HardwareTable.read(hardwareFile));
        List<Chip> chips = hardware == null ? table.chips() : table.select(hardware);
        CostReport.CapacityRequest capacity = batch == null ? null : new CostReport.CapacityRequest(batch,
                tpotMs / 1e3, attentionChip == null ? null : table.chip(attentionChip),
                ffnChip == null ? null : table.chip(ffnChip), efficiency, instanceSize, weightBits / 8);
        ExchangeBudget exchange = exchangeUs == null ? null
                : new ExchangeBudget(model.numLayers(), microBatches, exchangeUs, tpotMs / 1e3);
        CostReport report = CostReport.build(model, contexts, chips, Precision.parse(precision), kvBits / 8,
                capacity, exchange);
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? report.toJson() + "\n" : report.toText());
        out.flush();
        return 0;
    }
}
