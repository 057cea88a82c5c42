package dev.afd.attention.server;

import dev.afd.model.generate.GenerationRequest;
import dev.afd.model.generate.GenerationResult;
import dev.afd.model.sampling.PromptLogprob;
import dev.afd.model.sampling.Sample;
import dev.afd.model.sampling.SamplingParams;
import dev.afd.model.sampling.TokenLogprob;
import dev.afd.proto.GenerateRequest;
import dev.afd.proto.GenerateResponse;
import dev.afd.proto.TokenOutput;
import dev.afd.proto.TopLogprob;
import dev.afd.proto.Usage;
import dev.afd.wire.GrammarWire;
import dev.afd.wire.LogitControlsWire;
import dev.afd.wire.SamplingWire;
import java.util.HashSet;
import java.util.List;

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
                r.hasGrammar() ? GrammarWire.fromProto(r.getGrammar()) : null, LogitControlsWire.read(r),
                r.hasPromptLogprobs() ? r.getPromptLogprobs() : GenerationRequest.NO_PROMPT_LOGPROBS);
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
        LogitControlsWire.write(r.logitControls(), b);
        if (r.wantsPromptLogprobs()) {
            b.setPromptLogprobs(r.promptLogprobs());
        }
        for (int id : r.promptIds()) {
            b.addPromptIds(id);
        }
        return b.build();
    }

    public static GenerateResponse token(Sample s) {
        return GenerateResponse.newBuilder().addTokens(output(s.token(), s.logprob(), s.top())).build();
    }

    /** The prompt's log-probabilities, in one response. */
    public static GenerateResponse promptLogprobs(List<PromptLogprob> prompt) {
        GenerateResponse.Builder b = GenerateResponse.newBuilder();
        for (PromptLogprob p : prompt) {
            b.addPromptLogprobs(output(p.token(), p.logprob(), p.top()).setRank(p.rank()));
        }
        return b.build();
    }

    private static TokenOutput.Builder output(int token, float logprob, List<TokenLogprob> top) {
        TokenOutput.Builder t = TokenOutput.newBuilder().setTokenId(token).setLogprob(logprob);
        for (TokenLogprob alt : top) {
            t.addTopLogprobs(TopLogprob.newBuilder().setTokenId(alt.token()).setLogprob(alt.logprob()));
        }
        return t;
    }

    public static GenerateResponse finish(GenerationResult r) {
        return GenerateResponse.newBuilder()
                .setFinishReason(r.finishReason())
                .setUsage(Usage.newBuilder().setPromptTokens(r.promptTokens()).setCompletionTokens(r.tokenIds().length))
                .build();
    }
}
