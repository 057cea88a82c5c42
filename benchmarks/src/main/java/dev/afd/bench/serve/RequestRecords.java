package dev.afd.bench.serve;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --save-detailed}: one run's requests one by one, in request order, under the run's {@code requests}, as
 * columns with vLLM's names and units ({@code input_lens}, {@code output_lens}, {@code ttfts}, {@code itls},
 * {@code errors}; seconds) so tools written for {@code vllm bench serve --save-detailed} read them, plus
 * {@code e2els} and {@code start_times} (seconds from the run's first send), which place each request in time (the
 * prefix dataset's first and later uses of a prefix).
 * A failed request has null latencies and its error; a successful one an empty error, as in vLLM.
 */
final class RequestRecords {
    private RequestRecords() {}

    static Map<String, Object> of(LoadGenerator.Run run) {
        List<RequestOutcome> outcomes = run.outcomes();
        long first = outcomes.stream().mapToLong(RequestOutcome::sentNanos).min().orElse(0);
        List<Integer> inputLens = new ArrayList<>();
        List<Integer> outputLens = new ArrayList<>();
        List<Double> starts = new ArrayList<>();
        List<Double> ttfts = new ArrayList<>();
        List<Double> e2els = new ArrayList<>();
        List<List<Double>> itls = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (RequestOutcome o : outcomes) {
            inputLens.add(o.inputTokens() >= 0 ? o.inputTokens() : null);
            outputLens.add(o.outputTokens());
            starts.add(seconds(o.sentNanos() - first));
            ttfts.add(o.ok() ? seconds(o.ttftNanos()) : null);
            e2els.add(o.ok() ? seconds(o.endNanos() - o.sentNanos()) : null);
            itls.add(Arrays.stream(o.itlNanos()).mapToObj(RequestRecords::seconds).toList());
            errors.add(o.ok() ? "" : o.failure().toString());
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_lens", inputLens);
        m.put("output_lens", outputLens);
        m.put("start_times", starts);
        m.put("ttfts", ttfts);
        m.put("e2els", e2els);
        m.put("itls", itls);
        m.put("errors", errors);
        return m;
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }
}
