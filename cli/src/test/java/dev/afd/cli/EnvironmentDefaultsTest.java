package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.attention.spec.SpeculativeConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class EnvironmentDefaultsTest {
    private static GenerateCommand parse(Map<String, String> env, String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setDefaultValueProvider(new EnvironmentDefaults(env));
        CommandLine.ParseResult parsed = cl.parseArgs(args);
        return (GenerateCommand) parsed.subcommand().commandSpec().userObject();
    }

    @Test
    void commandSpecificVariablesWinOverGenericOnesAndOptionsWinOverBoth() {
        Map<String, String> env = Map.of("AFD_GENERATE_MAX_TOKENS", "7", "AFD_MAX_TOKENS", "9", "AFD_KV_DTYPE", "f32");
        GenerateCommand g = parse(env, "generate", "--prompt-ids", "1");
        assertThat(g.maxTokens).isEqualTo(7);
        assertThat(g.engine.kvDtype).isEqualTo("f32");
        assertThat(parse(env, "generate", "--prompt-ids", "1", "--max-tokens", "3").maxTokens).isEqualTo(3);
        assertThat(parse(Map.of(), "generate", "--prompt-ids", "1").maxTokens).isEqualTo(16);
    }

    @Test
    void prefixCachingIsOnUnlessTheFlagOrTheEnvironmentTurnsItOff() {
        assertThat(parse(Map.of(), "generate", "--prompt-ids", "1").engine.options().prefixCaching()).isTrue();
        assertThat(parse(Map.of(), "generate", "--prompt-ids", "1", "--no-prefix-caching").engine.options()
                .prefixCaching()).isFalse();
        assertThat(parse(Map.of("AFD_PREFIX_CACHING", "false"), "generate", "--prompt-ids", "1").engine.options()
                .prefixCaching()).isFalse();
    }

    @Test
    void speculativeDecodingIsOffByDefaultAndComesFromFlagsOrTheEnvironment() {
        assertThat(parse(Map.of(), "generate", "--prompt-ids", "1").engine.options().speculative().enabled())
                .isFalse();
        SpeculativeConfig flags = parse(Map.of(), "generate", "--prompt-ids", "1", "--speculative-tokens", "3",
                "--ngram-min", "2", "--ngram-max", "4").engine.options().speculative();
        assertThat(flags).isEqualTo(new SpeculativeConfig(SpeculativeConfig.Method.NGRAM, 3, 2, 4));
        assertThat(parse(Map.of("AFD_SPECULATIVE_TOKENS", "2"), "generate", "--prompt-ids", "1").engine.options()
                .speculative().tokens()).isEqualTo(2);
        // Whether the model has MTP layers is the engine's check, when it starts on the model.
        assertThat(parse(Map.of(), "generate", "--prompt-ids", "1", "--speculative-tokens", "2",
                "--speculative-method", "mtp").engine.options().speculative()).isEqualTo(SpeculativeConfig.mtp(2));
        assertThatThrownBy(() -> parse(Map.of(), "generate", "--prompt-ids", "1", "--speculative-tokens", "2",
                "--speculative-method", "eagle").engine.options())
                .hasMessageContaining("--speculative-method must be ngram or mtp, got eagle");
        assertThatThrownBy(() -> parse(Map.of(), "generate", "--prompt-ids", "1", "--speculative-tokens", "9")
                .engine.options()).hasMessageContaining("--speculative-tokens must be between 0 (off) and 8");
    }

    @Test
    void sharedOptionsOfMixinsAreNamedAfterTheCommandThatUsesThem() {
        CommandLine cl = new CommandLine(new Main());
        cl.setDefaultValueProvider(new EnvironmentDefaults(Map.of("AFD_FFN_PORT", "7101", "AFD_PORT", "7001",
                "AFD_ATTENTION_HOST", "10.0.0.7", "AFD_HOST", "127.0.0.1")));
        FfnCommand ffn = (FfnCommand) cl.parseArgs("ffn", "--model", "m", "--experts", "0-1").subcommand()
                .commandSpec().userObject();
        assertThat(ffn.listen.port).isEqualTo(7101);
        assertThat(ffn.listen.host()).isEqualTo("127.0.0.1");
        AttentionCommand attention = (AttentionCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(Map.of("AFD_PORT", "7001",
                        "AFD_ATTENTION_HOST", "10.0.0.7", "AFD_HOST", "127.0.0.1")))
                .parseArgs("attention", "--model", "m", "--ffn", "f:1").subcommand().commandSpec().userObject();
        assertThat(attention.listen.port).isEqualTo(7001);
        assertThat(attention.listen.host()).isEqualTo("10.0.0.7");
    }

    @Test
    void theReasoningParserIsOffByDefaultAndComesFromTheEnvironment() {
        GatewayCommand off = (GatewayCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(Map.of()))
                .parseArgs("gateway", "--model", "m").subcommand().commandSpec().userObject();
        assertThat(off.reasoningParser).isNull();
        ServeCommand serve = (ServeCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(Map.of("AFD_REASONING_PARSER", "step3")))
                .parseArgs("serve", "--local", "--model", "m").subcommand().commandSpec().userObject();
        assertThat(serve.reasoningParser).isEqualTo("step3");
    }

    @Test
    void theToolCallParserIsOffByDefaultAndComesFromTheEnvironment() {
        GatewayCommand off = (GatewayCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(Map.of()))
                .parseArgs("gateway", "--model", "m").subcommand().commandSpec().userObject();
        assertThat(off.toolCallParser).isNull();
        GatewayCommand gateway = (GatewayCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(Map.of("AFD_GATEWAY_TOOL_CALL_PARSER", "hermes")))
                .parseArgs("gateway", "--model", "m").subcommand().commandSpec().userObject();
        assertThat(gateway.toolCallParser).isEqualTo("hermes");
        ServeCommand serve = (ServeCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(Map.of("AFD_TOOL_CALL_PARSER", "step3")))
                .parseArgs("serve", "--local", "--model", "m").subcommand().commandSpec().userObject();
        assertThat(serve.toolCallParser).isEqualTo("step3");
    }

    @Test
    void logFormatAndTracesEndpointComeFromTheEnvironmentAndAreOffByDefault() {
        Map<String, String> env = Map.of("AFD_LOG_FORMAT", "json",
                "AFD_GATEWAY_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces");
        GatewayCommand gateway = (GatewayCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(env))
                .parseArgs("gateway", "--model", "m").subcommand().commandSpec().userObject();
        assertThat(gateway.logFormat.format).isEqualTo("json");
        assertThat(gateway.traces.checkedEndpoint()).isEqualTo("http://collector:4318/v1/traces");
        AttentionCommand attention = (AttentionCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(env))
                .parseArgs("attention", "--model", "m", "--ffn", "f:1", "--port", "7001").subcommand().commandSpec()
                .userObject();
        assertThat(attention.traces.checkedEndpoint()).as("the gateway's variable is the gateway's").isNull();
        ServeCommand serve = (ServeCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(Map.of()))
                .parseArgs("serve", "--local", "--model", "m").subcommand().commandSpec().userObject();
        assertThat(serve.logFormat.format).isEqualTo("text");
        assertThat(serve.traces.checkedEndpoint()).isNull();
    }

    @Test
    void theMetricsPortDefaultsTo9464AndFollowsTheEnvironmentPerRole() {
        Map<String, String> env = Map.of("AFD_FFN_METRICS_PORT", "9100", "AFD_METRICS_PORT", "9200");
        FfnCommand ffn = (FfnCommand) new CommandLine(new Main()).setDefaultValueProvider(new EnvironmentDefaults(env))
                .parseArgs("ffn", "--model", "m", "--experts", "0-1", "--port", "1").subcommand().commandSpec()
                .userObject();
        assertThat(ffn.metrics.port).isEqualTo(9100);
        AttentionCommand attention = (AttentionCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(env))
                .parseArgs("attention", "--model", "m", "--ffn", "f:1", "--port", "1").subcommand().commandSpec()
                .userObject();
        assertThat(attention.metrics.port).isEqualTo(9200);
        AttentionCommand unset = (AttentionCommand) new CommandLine(new Main())
                .setDefaultValueProvider(new EnvironmentDefaults(Map.of()))
                .parseArgs("attention", "--model", "m", "--ffn", "f:1", "--port", "1").subcommand().commandSpec()
                .userObject();
        assertThat(unset.metrics.port).isEqualTo(9464);
    }

    @Test
    void benchmarksTakeOnlyTheirOwnFullyQualifiedVariables() {
        CommandLine cl = new CommandLine(new Main());
        cl.setDefaultValueProvider(new EnvironmentDefaults(Map.of("AFD_MODEL", "/models/step3",
                "AFD_BENCH_KERNELS_STEPS", "3")));
        CommandLine.ParseResult bench = cl.parseArgs("bench", "kernels");
        Object kernels = bench.subcommand().subcommand().commandSpec().userObject();
        assertThat(((BenchCommand.Kernels) kernels).steps).isEqualTo(3);
        assertThat(((BenchCommand.Kernels) kernels).target.model.toString()).isEqualTo("models/small");
    }

    @Test
    void variableNamesFollowTheOptionNames() {
        assertThat(EnvironmentDefaults.variable("max-tokens")).isEqualTo("AFD_MAX_TOKENS");
        assertThat(EnvironmentDefaults.variable("generate_kv-memory-mb")).isEqualTo("AFD_GENERATE_KV_MEMORY_MB");
    }
}
