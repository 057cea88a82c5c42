package dev.afd.wire;

import dev.afd.model.grammar.Grammar;

/** {@link Grammar} on the wire, shared by the gateway (sending) and the attention node (receiving). */
public final class GrammarWire {
    private GrammarWire() {}

    public static dev.afd.proto.Grammar toProto(Grammar g) {
        dev.afd.proto.Grammar.Builder b = dev.afd.proto.Grammar.newBuilder().setNodes(g.nodes()).setStart(g.start());
        for (int e : g.edges()) {
            b.addEdges(e);
        }
        for (int r : g.returns()) {
            b.addReturns(r);
        }
        return b.build();
    }

    /**
     * @throws IllegalArgumentException naming what is malformed
     */
    public static Grammar fromProto(dev.afd.proto.Grammar g) {
        return new Grammar(g.getNodes(), g.getEdgesList().stream().mapToInt(Integer::intValue).toArray(),
                g.getReturnsList().stream().mapToInt(Integer::intValue).toArray(), g.getStart());
    }
}
