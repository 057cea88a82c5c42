package dev.afd.model.reference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs the float64 reference of the checkpoint's family ({@code src/test/python/step3_reference.py}, or
 * {@code step3p5_reference.py} for a {@code step3p5} config; python3 + numpy) as a subprocess and returns its greedy
 * generation: the ground truth the engine's tokens and log-probabilities are compared against.
 *
 * <p>Tests run with the module folder as working directory, so the scripts are found relative to it (or
 * relative to the repository root, for runs started there).
 */
public final class Float64Reference {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(2);
    private static final String PYTHON = "python3";
    private static final List<Path> PYTHON_DIRS = List.of(Path.of("src/test/python"), Path.of("model/src/test/python"),
            Path.of("../model/src/test/python"));
    private static final ObjectMapper JSON = new ObjectMapper();

    private Float64Reference() {}

    /** One alternative the reference considered at a step. */
    public record TopLogprob(int tokenId, double logprob) {}

    /**
     * The generated tokens with the log-softmax of each, the best {@code topN} alternatives per step (best
     * first) and why generation ended ({@code "length"} or {@code "stop"}; a stop token is the last id).
     * Arrays are the caller's to keep; record equality on them is identity, compare with {@code Arrays}.
     */
    public record Result(int[] tokenIds, double[] logprobs, String finishReason, List<List<TopLogprob>> top) {}

    /** Greedy generation of up to {@code maxTokens} tokens after {@code promptIds} (positions 0 .. len-1). */
    public record Request(Path modelDir, int[] promptIds, int maxTokens, int[] eosIds, boolean ignoreEos, int topN) {
        public static Request greedy(Path modelDir, int[] promptIds, int maxTokens) {
            return new Request(modelDir, promptIds, maxTokens, new int[0], false, 5);
        }

        public Request withEos(int... ids) {
            return new Request(modelDir, promptIds, maxTokens, ids, ignoreEos, topN);
        }

        public Request withIgnoreEos(boolean ignore) {
            return new Request(modelDir, promptIds, maxTokens, eosIds, ignore, topN);
        }

        public Request withTopN(int n) {
            return new Request(modelDir, promptIds, maxTokens, eosIds, ignoreEos, n);
        }

        List<String> arguments() {
            var args = new ArrayList<>(List.of(
                    "--model", modelDir.toAbsolutePath().toString(),
                    "--prompt-ids", joined(promptIds),
                    "--max-tokens", Integer.toString(maxTokens),
                    "--top-n", Integer.toString(topN),
                    "--eos-ids=" + joined(eosIds)));
            if (ignoreEos) {
                args.add("--ignore-eos");
            }
            return args;
        }
    }

    /** What a finished python3 run printed. */
    public record Completed(int exitCode, String stdout, String stderr) {}

    public static Result generate(Request request) {
        return generate(request, DEFAULT_TIMEOUT);
    }

    public static Result generate(Request request, Duration timeout) {
        return parse(run(request.modelDir(), request.arguments(), timeout));
    }

    /**
     * What a multi-token-prediction layer computes over a prompt: for each position t but the last, the main model's
     * hidden state before the final norm, the next token, and the MTP layer's logits given both.
     */
    public record Mtp(float[][] hidden, int[] nextTokens, double[][] logits) {}

    /** MTP layer {@code layer}'s logits over {@code promptIds}, from the Step-3.5 reference. */
    public static Mtp mtp(Path modelDir, int[] promptIds, int layer) {
        JsonNode json = run(modelDir, List.of("--model", modelDir.toAbsolutePath().toString(), "--prompt-ids",
                joined(promptIds), "--mtp-layer", Integer.toString(layer)), DEFAULT_TIMEOUT);
        float[][] hidden = required(json, "hidden").valueStream().map(row -> {
            float[] r = new float[row.size()];
            for (int i = 0; i < r.length; i++) {
                r[i] = (float) row.get(i).doubleValue();
            }
            return r;
        }).toArray(float[][]::new);
        double[][] logits = required(json, "logits").valueStream()
                .map(row -> row.valueStream().mapToDouble(JsonNode::doubleValue).toArray()).toArray(double[][]::new);
        int[] next = required(json, "next_tokens").valueStream().mapToInt(JsonNode::intValue).toArray();
        return new Mtp(hidden, next, logits);
    }

    private static JsonNode run(Path modelDir, List<String> arguments, Duration timeout) {
        var args = new ArrayList<String>();
        args.add(pythonScript(script(modelDir)).toString());
        args.addAll(arguments);
        Completed run = python(args, Map.of(), timeout);
        if (run.exitCode() != 0) {
            throw new IllegalStateException("float64 reference failed (exit " + run.exitCode() + ") for model "
                    + modelDir + ":\n" + run.stderr());
        }
        try {
            return JSON.readTree(run.stdout());
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("float64 reference printed output that is not its JSON result: "
                    + e.getMessage() + "\nstdout:\n" + run.stdout() + "\nstderr:\n" + run.stderr(), e);
        }
    }

    /**
     * The reference script of the checkpoint's family, by its config's {@code model_type}; the Step-3 one when the
     * config cannot be read (the script then says what is wrong).
     */
    private static String script(Path modelDir) {
        try {
            JsonNode config = JSON.readTree(Files.readString(modelDir.resolve("config.json")));
            return config.path("model_type").asText("").equals("step3p5") ? "step3p5_reference.py"
                    : "step3_reference.py";
        } catch (IOException e) {
            return "step3_reference.py";
        }
    }

    /** True when python3 runs and can import numpy; checked once. */
    public static boolean available() {
        return Availability.PYTHON_WITH_NUMPY;
    }

    /** A script next to the reference, e.g. {@code step3_checkpoint_writer.py}. */
    public static Path pythonScript(String fileName) {
        return PYTHON_DIRS.stream()
                .map(dir -> dir.resolve(fileName))
                .filter(Files::isRegularFile)
                .findFirst()
                .map(Path::toAbsolutePath)
                .orElseThrow(() -> new IllegalStateException(fileName + " not found under "
                        + PYTHON_DIRS + " from " + Path.of("").toAbsolutePath() + "; run from the repository root or a module folder"));
    }

    /**
     * Runs {@code python3 -B args...} with {@code environment} added, and waits at most {@code timeout}.
     * Bytecode caches are off so nothing is written next to the scripts.
     */
    public static Completed python(List<String> args, Map<String, String> environment, Duration timeout) {
        var command = new ArrayList<>(List.of(PYTHON, "-B"));
        command.addAll(args);
        var builder = new ProcessBuilder(command);
        builder.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        builder.environment().putAll(environment);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + PYTHON + "; is it installed and on the PATH?", e);
        }
        // Both pipes are drained while the process runs, or a chatty child blocks on a full pipe.
        try (var readers = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<String> stdout = readers.submit(() -> text(process.getInputStream()));
            Future<String> stderr = readers.submit(() -> text(process.getErrorStream()));
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor();
                throw new IllegalStateException(PYTHON + " " + String.join(" ", args) + " did not finish within "
                        + timeout + "; stderr so far:\n" + stderr.get());
            }
            return new Completed(process.exitValue(), stdout.get(), stderr.get());
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + PYTHON, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not read the output of " + PYTHON, e.getCause());
        }
    }

    private static Result parse(JsonNode json) {
        try {
            return parseResult(json);
        } catch (RuntimeException e) {
            throw new IllegalStateException("float64 reference printed output that is not its JSON result: "
                    + e.getMessage() + "\n" + json, e);
        }
    }

    private static Result parseResult(JsonNode json) {
        List<List<TopLogprob>> top = required(json, "top_logprobs").valueStream()
                .map(step -> step.valueStream()
                        .map(pair -> new TopLogprob(pair.get(0).intValue(), pair.get(1).doubleValue()))
                        .toList())
                .toList();
        int[] tokenIds = required(json, "token_ids").valueStream().mapToInt(JsonNode::intValue).toArray();
        double[] logprobs = required(json, "logprobs").valueStream().mapToDouble(JsonNode::doubleValue).toArray();
        return new Result(tokenIds, logprobs, required(json, "finish_reason").textValue(), top);
    }

    private static JsonNode required(JsonNode json, String field) {
        JsonNode value = json.get(field);
        if (value == null) {
            throw new IllegalArgumentException("missing field " + field);
        }
        return value;
    }

    private static String joined(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    private static String text(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Probed on first use only, so test classes that never call the reference pay nothing. */
    private static final class Availability {
        static final boolean PYTHON_WITH_NUMPY = probe();

        private static boolean probe() {
            try {
                return python(List.of("-c", "import numpy"), Map.of(), Duration.ofSeconds(30)).exitCode() == 0;
            } catch (RuntimeException e) {
                return false;
            }
        }
    }
}
