package dev.afd.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.gateway.routing.Resolver;
import dev.afd.gateway.tokenizer.ModelTokenizer;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import dev.afd.model.tensor.DType;
import dev.afd.telemetry.Tracing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A real stack on loopback for tests: a tiny generated model, an attention node serving gRPC on 127.0.0.1 (its
 * experts on two in-process ffn shards, f32 wire and KV so results are exact), and a gateway in front of it, with an
 * HTTP client to talk to the gateway.
 */
final class GatewayStack implements AutoCloseable {
    final Path modelDir;
    final Checkpoint checkpoint;
    final AttentionNode node;
    final Gateway gateway;
    final Http http;
    /** The model's tokenizer, for tests that check text; opened on first use. */
    private ModelTokenizer tokenizer;

    private GatewayStack(Path modelDir, Checkpoint checkpoint, AttentionNode node, Gateway gateway) {
        this.modelDir = modelDir;
        this.checkpoint = checkpoint;
        this.node = node;
        this.gateway = gateway;
        this.http = new Http(gateway.port());
    }

    /** Writes the tiny model into {@code dir/tiny} (once) and returns its folder. */
    static Path tinyModel(Path dir) throws IOException {
        Path model = dir.resolve("tiny");
        if (!Files.exists(model.resolve("config.json"))) {
            ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), model);
        }
        return model;
    }

    static GatewayStack start(Path dir, GatewayOptions options) throws Exception {
        return start(tinyModel(dir), null, options);
    }

    /** A node for {@code modelDir} and a gateway with the tokenizer of {@code tokenizerDir} (null: the model's). */
    static GatewayStack start(Path modelDir, Path tokenizerDir, GatewayOptions options) throws Exception {
        return start(modelDir, tokenizerDir, options, Tracing.off());
    }

    /** As {@link #start(Path, Path, GatewayOptions)}, the node recording its spans in {@code nodeTracing}. */
    static GatewayStack start(Path modelDir, Path tokenizerDir, GatewayOptions options, Tracing nodeTracing)
            throws Exception {
        TestNatives.use();
        Checkpoint checkpoint = Checkpoint.open(modelDir);
        AttentionNode node = null;
        try {
            node = AttentionNode.inProcess(checkpoint, 2, AttentionNode.Wire.exact(),
                    EngineOptions.defaults().withKvDtype(DType.F32).withKvMemory(64L << 20));
            node.serve("127.0.0.1", 0, nodeTracing);
            Gateway gateway = Gateway.start(options.toBuilder().address("127.0.0.1", 0)
                            .intervals(Duration.ofMillis(50), Duration.ofSeconds(5)).build(), modelDir, tokenizerDir,
                    Resolver.fixed(List.of("127.0.0.1:" + node.server().port())));
            GatewayStack stack = new GatewayStack(modelDir, checkpoint, node, gateway);
            stack.awaitReady();
            return stack;
        } catch (Exception | Error e) {
            if (node != null) {
                node.close();
            }
            checkpoint.close();
            throw e;
        }
    }

    void awaitReady() throws InterruptedException {
        new Ready(gateway).await();
    }

    /** Waits for a gateway to report ready. */
    record Ready(Gateway gateway) {
        void await() throws InterruptedException {
            long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (gateway.notReadyReason() != null) {
                assertThat(System.nanoTime()).as("gateway ready: " + gateway.notReadyReason()).isLessThan(end);
                Thread.sleep(20);
            }
        }
    }

    /** The model's tokenizer (opened once; closed with the stack). */
    synchronized ModelTokenizer tokenizer() throws IOException {
        if (tokenizer == null) {
            tokenizer = ModelTokenizer.open(modelDir);
        }
        return tokenizer;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
        gateway.close();
        node.close();
        checkpoint.close();
    }
}
