package dev.afd.cli;

import dev.afd.gateway.toolcalls.ToolCallParser;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code afd demo}: the first thing to run. Makes the demo model when it is missing, then runs
 * {@code serve --local} with it: two ffn-nodes, an attention node and the gateway on loopback, until Ctrl-C. The
 * gateway parses {@code tool_choice: "auto"} calls in the demo model's format ({@code --tool-call-parser hermes}).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the demo: make the demo model if missing, start the whole stack on this machine (gateway,"
                + " attention node, two ffn-nodes) and serve an OpenAI-compatible API until Ctrl-C.")
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model-dir", defaultValue = "models/demo", description = "Where the demo model is (made there when missing; default: ${DEFAULT-VALUE}).")
    Path modelDir;

    @Option(names = "--preset", defaultValue = "small", description = "Shape of the demo model when it is made: tiny or small (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--port", defaultValue = "8000", description = "The gateway's HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--attention-port", defaultValue = "7001", description = "The attention node's gRPC port (default: ${DEFAULT-VALUE}).")
    int attentionPort;

    @Option(names = "--api-key", description = "Require 'Authorization: Bearer KEY' on the API.")
    String apiKey;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            ModelPreset p = ModelPreset.parse(preset);
            out.println("afd demo: making the " + p.id() + " demo model in " + modelDir
                    + " (random weights, once; this takes a little while)...");
            out.flush();
            ModelGenerator.generate(p.config(false), ModelGenerator.Options.defaults(), modelDir);
        }
        List<String> args = new ArrayList<>(List.of("serve", "--local", "--model", modelDir.toString(), "--port",
                Integer.toString(port), "--attention-port", Integer.toString(attentionPort), "--tool-call-parser",
                ToolCallParser.HERMES.optionName()));
        if (apiKey != null) {
            args.addAll(List.of("--api-key", apiKey));
        }
        CommandLine serve = Main.commandLine();
        serve.setOut(out);
        serve.setErr(spec.commandLine().getErr());
        return serve.execute(args.toArray(String[]::new));
    }
}
