package dev.afd.attention.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.attention.ffn.GrpcFfnLink;
import dev.afd.ffn.FfnServer;
import dev.afd.ffn.core.CpuFfnBackend;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.ffn.core.ExpertSet;
import dev.afd.ffn.core.placement.EvenSplit;
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
        this(checkpoint, evenSplit(checkpoint, ffnNodes), wire, options);
    }

    /** ffn-nodes holding {@code sets} (which may overlap: replicas), and an attention node connected to them. */
    Cluster(Checkpoint checkpoint, List<ExpertSet> sets, AttentionNode.Wire wire, EngineOptions options)
            throws Exception {
        this.checkpoint = checkpoint;
        for (ExpertSet set : sets) {
            ffnServers.add(startFfn(set, 0));
        }
        attention = AttentionNode.remote(checkpoint, ffnTargets(), wire, options, "attention test");
        awaitLive(attention);
    }

    private static List<ExpertSet> evenSplit(Checkpoint checkpoint, int nodes) {
        int e = checkpoint.config().numExperts();
        List<ExpertSet> sets = new ArrayList<>();
        for (int n = 0; n < nodes; n++) {
            sets.add(ExpertSet.of(EvenSplit.part(e, nodes, n)));
        }
        return sets;
    }

    /** The ffn-nodes' addresses, for another attention node to connect to. */
    List<String> ffnTargets() {
        return ffnServers.stream().map(s -> "127.0.0.1:" + s.port()).toList();
    }

    ExpertRange range(int n, int nodes) {
        return EvenSplit.part(checkpoint.config().numExperts(), nodes, n);
    }

    FfnServer startFfn(ExpertRange range, int port) throws IOException {
        return startFfn(ExpertSet.of(range), port);
    }

    FfnServer startFfn(ExpertSet set, int port) throws IOException {
        return FfnServer.start("127.0.0.1", port, checkpoint.config(),
                new CpuFfnBackend(checkpoint.config(), checkpoint.weights(), set), "test model");
    }

    void awaitLive() throws InterruptedException {
        awaitLive(attention);
    }

    /** Waits until every ffn link of {@code node} has shaken hands. */
    void awaitLive(AttentionNode node) throws InterruptedException {
        for (var link : node.ffn().links()) {
            if (link instanceof GrpcFfnLink g && !g.awaitLive(Duration.ofSeconds(20))) {
                throw new IllegalStateException(link.node() + " did not connect: " + g.lastError());
            }
        }
    }

    /**
     * Waits until {@code node} holds no KV block: its load is published at the end of the engine step that freed
     * them, a moment after the requests' clients saw their end.
     */
    static void awaitKvFree(AttentionNode node) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (node.engine().load().kvBlocksUsed() > 0 && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertThat(node.engine().load().kvBlocksUsed()).as("KV blocks in use")
                .isZero();
    }

    @Override
    public void close() {
        attention.close();
        ffnServers.forEach(FfnServer::close);
    }
}
