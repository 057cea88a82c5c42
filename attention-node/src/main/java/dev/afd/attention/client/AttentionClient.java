package dev.afd.attention.client;

import dev.afd.attention.server.ProtoRequests;
import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.TokenLogprob;
import dev.afd.proto.AbortRequest;
import dev.afd.proto.AttentionServiceGrpc;
import dev.afd.proto.GenerateResponse;
import dev.afd.proto.LoadRequest;
import dev.afd.proto.LoadResponse;
import dev.afd.proto.TokenOutput;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A blocking client of one attention node, for {@code afd generate --attention} and tests. */
public final class AttentionClient implements AutoCloseable {
    private final String target;
    private final ManagedChannel channel;
    private final AttentionServiceGrpc.AttentionServiceBlockingStub stub;

    public AttentionClient(String target) {
        this.target = target;
        this.channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
        this.stub = AttentionServiceGrpc.newBlockingStub(channel);
    }

    /**
     * Runs a request to completion.
     *
     * @throws IllegalStateException with the node's message when the request fails
     */
    public GenerationResult generate(String requestId, GenerationRequest request) {
        List<Integer> tokens = new ArrayList<>();
        List<Float> logprobs = new ArrayList<>();
        List<List<TokenLogprob>> top = new ArrayList<>();
        try {
            Iterator<GenerateResponse> responses = stub.generate(ProtoRequests.toProto(requestId, request));
            while (responses.hasNext()) {
                GenerateResponse r = responses.next();
                for (TokenOutput t : r.getTokensList()) {
                    tokens.add(t.getTokenId());
                    logprobs.add(t.getLogprob());
                    top.add(t.getTopLogprobsList().stream()
                            .map(a -> new TokenLogprob(a.getTokenId(), a.getLogprob())).toList());
                }
                if (!r.getFinishReason().isEmpty()) {
                    float[] lp = new float[logprobs.size()];
                    for (int i = 0; i < lp.length; i++) {
                        lp[i] = logprobs.get(i);
                    }
                    return new GenerationResult(tokens.stream().mapToInt(Integer::intValue).toArray(), lp, top,
                            r.getFinishReason(), r.getUsage().getPromptTokens());
                }
            }
            throw new IllegalStateException("attention node " + target + " ended the stream without a finish reason");
        } catch (StatusRuntimeException e) {
            throw new IllegalStateException("attention node " + target + ": " + e.getStatus().getCode() + ": "
                    + e.getStatus().getDescription(), e);
        }
    }

    public boolean abort(String requestId) {
        return stub.abort(AbortRequest.newBuilder().setRequestId(requestId).build()).getAborted();
    }

    public LoadResponse load() {
        return stub.load(LoadRequest.getDefaultInstance());
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
