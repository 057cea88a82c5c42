package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.gateway.routing.Resolver;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.gateway.toolcalls.ToolCallParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official {@code openai} npm package, pinned in {@code src/test/node/package.json}, drives the gateway over
 * real HTTP: chat and completions, whole and streamed, errors, API key; and tool calls. Installed with {@code npm ci}
 * into {@code target/node-openai} (once; reused while the lock file is unchanged).
 */
class OpenAiNodeClientTest {
    private static final String SCRIPT = "openai-client.test.mjs";
    private static final String TOOLS_SCRIPT = "openai-tools.test.mjs";

    @TempDir
    Path dir;

    @Test
    void theOfficialClientWorksAgainstTheGateway() throws Exception {
        NodeTools.assumeInstalled();
        Path work = install();
        try (GatewayStack stack = GatewayStack.start(dir, GatewayOptions.builder().apiKey("test-key").build())) {
            NodeTools.Result r = NodeTools.run(work, Map.of(
                    "OPENAI_BASE_URL", "http://127.0.0.1:" + stack.gateway.port() + "/v1",
                    "OPENAI_API_KEY", "test-key",
                    "AFD_MODEL", stack.gateway.model().name()), 120, "node", SCRIPT);
            System.out.println(r.output());
            assertThat(r.exitCode()).as(r.output()).isZero();
            assertThat(r.output()).contains("all checks passed");
        }
    }

    /**
     * Tool calls: {@code required} and named choices and a multi-turn exchange on the real tiny model (hermes parser
     * configured), {@code auto} against a gateway whose scripted node writes a hermes call.
     */
    @Test
    void theOfficialClientMakesToolCalls() throws Exception {
        NodeTools.assumeInstalled();
        Path work = install();
        GatewayOptions hermes = GatewayOptions.builder().apiKey("test-key").toolCallParser(ToolCallParser.HERMES)
                .build();
        try (GatewayStack stack = GatewayStack.start(dir, hermes);
                FakeNode scripted = FakeNode.start(stack.gateway.model().fingerprint());
                ModelTokenizer tokenizer = ModelTokenizer.open(stack.modelDir)) {
            scripted.script = FakeNode.tokens(tokenizer.encode(ToolCallsApiTest.CALL_TEXT, false));
            try (Gateway scriptedGateway = Gateway.start(hermes.toBuilder().apiKey(null).address("127.0.0.1", 0)
                    .intervals(Duration.ofMillis(50), Duration.ofSeconds(5)).build(), stack.modelDir, null,
                    Resolver.fixed(List.of(scripted.target())))) {
                new GatewayStack.Ready(scriptedGateway).await();
                NodeTools.Result r = NodeTools.run(work, Map.of(
                        "OPENAI_BASE_URL", "http://127.0.0.1:" + stack.gateway.port() + "/v1",
                        "OPENAI_API_KEY", "test-key",
                        "SCRIPTED_BASE_URL", "http://127.0.0.1:" + scriptedGateway.port() + "/v1",
                        "AFD_MODEL", stack.gateway.model().name()), 120, "node", TOOLS_SCRIPT);
                System.out.println(r.output());
                assertThat(r.exitCode()).as(r.output()).isZero();
                assertThat(r.output()).contains("all checks passed");
            }
        }
    }

    /** Copies the package files and scripts to target/node-openai and runs npm ci there unless already done. */
    private static Path install() throws Exception {
        Path src = NodeTools.sources();
        Path work = NodeTools.target().resolve("node-openai");
        Files.createDirectories(work);
        boolean lockChanged = !Files.exists(work.resolve("package-lock.json"))
                || Files.mismatch(src.resolve("package-lock.json"), work.resolve("package-lock.json")) != -1;
        for (String f : new String[] {"package.json", "package-lock.json", SCRIPT, TOOLS_SCRIPT}) {
            Files.copy(src.resolve(f), work.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        if (lockChanged || !Files.exists(work.resolve("node_modules/openai/package.json"))) {
            NodeTools.Result r = NodeTools.run(work, Map.of(), 300, "npm", "ci", "--no-audit", "--no-fund");
            assertThat(r.exitCode()).as("npm ci of the openai client failed (is the npm registry reachable?):\n"
                    + r.output()).isZero();
        }
        return work;
    }
}
