package dev.afd.attention.server;

import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.Sample;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.sampling.TokenLogprob;
import dev.afd.proto.GenerateRequest;
import dev.afd.proto.GenerateResponse;
import dev.afd.proto.TokenOutput;
import dev.afd.proto.TopLogprob;
import dev.afd.proto.Usage;
import dev.afd.wire.GrammarWire;
import dev.afd.wire.SamplingWire;
import java.util.HashSet;

/** Translation between the attention service's protobuf messages and the engine's records. */
public final class ProtoRequests {
    private ProtoRequests() {}

    /**
     * @throws IllegalArgumentException naming the offending field when a value is out of range
     */
    public static GenerationRequest fromProto(GenerateRequest r) {
        SamplingParams sampling = SamplingWire.fromProto(r.getSampling());
        int[] prompt = r.getPromptIdsList().stream().mapToInt(Integer::intValue).toArray();
        return new GenerationRequest(prompt, r.getMaxTokens(), sampling, r.getIgnoreEos(),
                new HashSet<>(r.getStopTokenIdsList()), r.getMinTokens(),
                r.hasGrammar() ? GrammarWire.fromProto(r.getGrammar()) : null);
    }

    public static GenerateRequest toProto(String requestId, GenerationRequest r) {
        GenerateRequest.Builder b = GenerateRequest.newBuilder()
                .setRequestId(requestId)
                .setMaxTokens(r.maxTokens())
                .setSampling(SamplingWire.toProto(r.sampling()))
                .setIgnoreEos(r.ignoreEos())
                .addAllStopTokenIds(r.stopTokenIds())
                .setMinTokens(r.minTokens());
        if (r.grammar() != null) {
            b.setGrammar(GrammarWire.toProto(r.grammar()));
        }
        for (int id : r.promptIds()) {
            b.addPromptIds(id);
        }
        return b.build();
    }

    public static GenerateResponse token(Sample s) {
        TokenOutput.Builder t = TokenOutput.newBuilder().setTokenId(s.token()).setLogprob(s.logprob());
        for (TokenLogprob alt : s.top()) {
            t.addTopLogprobs(TopLogprob.newBuilder().setTokenId(alt.token()).setLogprob(alt.logprob()));
        }
        return GenerateResponse.newBuilder().addTokens(t).build();
    }

    public static GenerateResponse finish(GenerationResult r) {
        return GenerateResponse.newBuilder()
                .setFinishReason(r.finishReason())
                .setUsage(Usage.newBuilder().setPromptTokens(r.promptTokens()).setCompletionTokens(r.tokenIds().length))
                .build();
    }
}
