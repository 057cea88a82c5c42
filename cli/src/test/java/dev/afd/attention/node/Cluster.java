package dev.afd.attention.node;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.ffn.GrpcFfnLink;
import dev.afd.ffn.FfnServer;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.model.safetensors.Checkpoint;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A test deployment on loopback: ffn-nodes on real gRPC servers, each holding an even share of the experts, and an
 * attention node connected to them. Closing it stops everything it started.
 */
final class Cluster implements AutoCloseable {
    final Checkpoint checkpoint;
    final List<FfnServer> ffnServers = new ArrayList<>();
    final AttentionNode attention;

    Cluster(Checkpoint checkpoint, int ffnNodes, AttentionNode.Wire wire, EngineOptions options) throws Exception {
        this.checkpoint = checkpoint;
        for (int n = 0; n < ffnNodes; n++) {
            ffnServers.add(startFfn(range(n, ffnNodes), 0));
        }
        attention = AttentionNode.remote(checkpoint, ffnTargets(), wire, options, "attention test");
        awaitLive(attention);
    }

    /** The ffn-nodes' addresses, for another attention node to connect to. */
    List<String> ffnTargets() {
        return ffnServers.stream().map(s -> "127.0.0.1:" + s.port()).toList();
    }

    ExpertRange range(int n, int nodes) {
        int e = checkpoint.config().numExperts();
        return new ExpertRange(n * e / nodes, (n + 1) * e / nodes - 1);
    }

    FfnServer startFfn(ExpertRange range, int port) throws IOException {
        return FfnServer.start("127.0.0.1", port, checkpoint.config(),
                new CpuFfnBackend(checkpoint.config(), checkpoint.weights(), range), "test model");
    }

    void awaitLive() throws InterruptedException {
        awaitLive(attention);
    }

    /** Waits until every ffn link of {@code node} has shaken hands. */
    void awaitLive(AttentionNode node) throws InterruptedException {
        for (var link : node.ffn().links()) {
            if (!((GrpcFfnLink) link).awaitLive(Duration.ofSeconds(20))) {
                throw new IllegalStateException(link.node() + " did not connect: " + ((GrpcFfnLink) link).lastError());
            }
        }
    }

    @Override
    public void close() {
        attention.close();
        ffnServers.forEach(FfnServer::close);
    }
}
