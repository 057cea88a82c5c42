package dev.afd.model.step3;

import dev.afd.model.config.Step3Config;
import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.Routing;
import dev.afd.model.kernels.Attention;
import dev.afd.model.kernels.MatMul;
import dev.afd.model.kernels.Parallel;
import dev.afd.model.kernels.RmsNorm;
import dev.afd.model.kernels.Rope;
import dev.afd.model.kv.SequenceKv;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Step-3 forward pass (docs/model.md) over a batch that mixes prefill chunks and decode tokens of many sequences.
 *
 * <p>Each step flattens the batch into rows (one per token), runs every layer's attention half here and hands the
 * post-attention-normed rows to an {@link FfnExecutor} for the FFN half. Only the rows a chunk asks logits for (its
 * last row to sample, or more: prompt log-probabilities, verifying drafted tokens) go through the final norm and
 * {@code lm_head}.
 *
 * <p>Threading: one engine thread calls {@link #forward}; kernels fan out on the shared kernel pool.
 */
public final class Step3Model {
    /**
     * Tokens of one sequence at consecutive positions {@code start, start+1, ...}; its cache must already hold
     * positions {@code [0, start)}.
     *
     * @param logitRows how many of the chunk's last rows want logits: 0 for none, 1 to sample the next token, up to
     *     {@code tokens.length}
     */
    public record Chunk(SequenceKv kv, int[] tokens, int start, int logitRows) {
        public Chunk {
            if (logitRows < 0 || logitRows > tokens.length) {
                throw new IllegalArgumentException("a chunk of " + tokens.length + " tokens cannot want logits for "
                        + logitRows + " rows");
            }
        }

        /** A chunk that wants the logits of its last row, or none. */
        public Chunk(SequenceKv kv, int[] tokens, int start, boolean wantLogits) {
            this(kv, tokens, start, wantLogits ? 1 : 0);
        }

        public boolean wantLogits() {
            return logitRows > 0;
        }
    }

    private final Step3Config config;
    private final Step3Weights weights;
    private final FfnExecutor ffn;
    private final Rope rope;
    private final float attentionScale;
    private final AtomicLong steps = new AtomicLong();

    public Step3Model(Step3Config config, Step3Weights weights, FfnExecutor ffn) {
        this.config = config;
        this.weights = weights;
        this.ffn = ffn;
        this.rope = new Rope(config.headDim(), config.ropeTheta());
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    public Step3Config config() {
        return config;
    }

    public Step3Weights weights() {
        return weights;
    }

    /** Runs one engine step as a single micro-batch. */
    public float[][] forward(List<Chunk> chunks) {
        return forward(chunks, 1);
    }

    /**
     * Runs one engine step, split into up to {@code microBatches} micro-batches (whole sequences each) that take turns
     * through every layer: micro-batch b's attention runs while the FFN side still works on b-1 (the ping-pong of
     * attention-FFN disaggregation). Rows never interact across micro-batches, so the split changes timing, not
     * results.
     *
     * @return for each chunk, the logits of its last {@link Chunk#logitRows} rows ({@code vocab} floats each, row by
     *     row), or {@code null} when the chunk asked for none
     * @throws FfnException when an FFN exchange fails; no state of this step is kept
     */
    public float[][] forward(List<Chunk> chunks, int microBatches) {
        long step = steps.getAndIncrement();
        List<MicroBatch> batches = MicroBatch.split(chunks, microBatches);
        List<CompletableFuture<float[]>> pending = new ArrayList<>();
        try {
            for (MicroBatch mb : batches) {
                mb.h = embed(mb.rows);
                pending.add(null);
            }
            for (int layer = 0; layer < config.numLayers(); layer++) {
                LayerWeights w = weights.layers().get(layer);
                for (int b = 0; b < batches.size(); b++) {
                    MicroBatch mb = batches.get(b);
                    if (pending.get(b) != null) {
                        addInPlace(mb.h, await(pending.get(b)));
                    }
                    addInPlace(mb.h, attention(layer, w, mb.h, mb.rows));
                    float[] f = new float[mb.h.length];
                    RmsNorm.rmsNorm(mb.h, mb.rows.count(), w.postAttentionNorm(), eps(), f);
                    Routing routing = w.isMoe()
                            ? Router.route(w.moe().router(), f, mb.rows.count(), config.topK(),
                                    config.normExpertWeight())
                            : Routing.none(mb.rows.count());
                    pending.set(b, ffn.submit(new FfnWork(step, b, mb.rows.positions(),
                            FfnBatch.everyRow(layer, f, config.hiddenSize(), routing))));
                }
            }
            for (int b = 0; b < batches.size(); b++) {
                addInPlace(batches.get(b).h, await(pending.get(b)));
            }
        } catch (RuntimeException e) {
            pending.stream().filter(p -> p != null).forEach(p -> p.cancel(false));
            throw e;
        }
        return logits(batches, chunks.size());
    }

    private float[] embed(Rows rows) {
        int hidden = config.hiddenSize();
        float[] h = new float[rows.count() * hidden];
        for (int r = 0; r < rows.count(); r++) {
            weights.embed().copyTo((long) rows.token(r) * hidden, h, r * hidden, hidden);
        }
        return h;
    }

    private static float[] await(CompletableFuture<float[]> result) {
        try {
            return result.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new FfnException("FFN exchange failed: " + e.getCause(), e.getCause());
        }
    }

    /** The attention half of a layer: returns {@code o_proj(attention)} for every row, to add to the residual. */
    private float[] attention(int layer, LayerWeights w, float[] h, Rows rows) {
        int n = rows.count();
        int headDim = config.headDim();
        int heads = config.numHeads();
        int qDim = config.qDim();
        float[] a = new float[h.length];
        RmsNorm.rmsNorm(h, n, w.inputNorm(), eps(), a);

        float[] lowRankQ = new float[n * config.shareQDim()];
        float[] k = new float[n * headDim];
        float[] v = new float[n * headDim];
        MatMul.matmuls(List.of(new MatMul.Product(w.qProj(), a, n, lowRankQ), new MatMul.Product(w.kProj(), a, n, k),
                new MatMul.Product(w.vProj(), a, n, v)));
        RmsNorm.rmsNorm(lowRankQ, n, w.interNorm(), eps(), lowRankQ);
        float[] q = new float[n * qDim];
        MatMul.matmul(w.wq(), lowRankQ, n, q);

        // Rotate and cache every row's key before any row attends: a prefill row at position p must see the keys
        // of the earlier rows of its own chunk.
        for (int r = 0; r < n; r++) {
            int pos = rows.position(r);
            rope.apply(q, r * qDim, heads, pos);
            rope.apply(k, r * headDim, 1, pos);
            rows.chunk(r).kv().write(layer, pos, k, r * headDim, v, r * headDim);
        }
        float[] o = new float[n * qDim];
        Parallel.forRange(n, 1, (from, to) -> {
            for (int r = from; r < to; r++) {
                int pos = rows.position(r);
                Attention.attend(q, r * qDim, heads, headDim, rows.chunk(r).kv().layer(layer), pos + 1,
                        attentionScale, o, r * qDim);
            }
        });
        float[] out = new float[n * config.hiddenSize()];
        MatMul.matmul(w.oProj(), o, n, out);
        return out;
    }

    /** Final norm and {@code lm_head} for the rows every chunk wants logits of, in one matmul. */
    private float[][] logits(List<MicroBatch> batches, int chunkCount) {
        int hidden = config.hiddenSize();
        float[][] result = new float[chunkCount][];
        List<float[]> wantedRows = new ArrayList<>();
        List<Integer> owners = new ArrayList<>();
        for (MicroBatch mb : batches) {
            for (int c = 0; c < mb.rows.chunks().size(); c++) {
                int n = mb.rows.chunks().get(c).logitRows();
                if (n > 0) {
                    int first = mb.rows.lastRowOf(c) + 1 - n;
                    wantedRows.add(Arrays.copyOfRange(mb.h, first * hidden, (first + n) * hidden));
                    owners.add(mb.firstChunk + c);
                }
            }
        }
        int wanted = wantedRows.stream().mapToInt(r -> r.length / hidden).sum();
        if (wanted == 0) {
            return result;
        }
        float[] rows = new float[wanted * hidden];
        int at = 0;
        for (float[] r : wantedRows) {
            System.arraycopy(r, 0, rows, at, r.length);
            at += r.length;
        }
        RmsNorm.rmsNorm(rows, wanted, weights.finalNorm(), eps(), rows);
        int vocab = config.vocabSize();
        float[] logits = new float[wanted * vocab];
        MatMul.matmul(weights.lmHead(), rows, wanted, logits);
        int row = 0;
        for (int i = 0; i < wantedRows.size(); i++) {
            int n = wantedRows.get(i).length / hidden;
            result[owners.get(i)] = Arrays.copyOfRange(logits, row * vocab, (row + n) * vocab);
            row += n;
        }
        return result;
    }

    private float eps() {
        return (float) config.rmsNormEps();
    }

    private static void addInPlace(float[] acc, float[] x) {
        for (int i = 0; i < acc.length; i++) {
            acc[i] += x[i];
        }
    }

    /** The batch flattened to rows: row r is token {@code token(r)} of chunk {@code chunk(r)} at {@code position(r)}. */
    private record Rows(List<Chunk> chunks, int[] chunkIndex, int[] positions, int[] tokens, int[] lastRows) {
        static Rows of(List<Chunk> chunks) {
            int n = chunks.stream().mapToInt(c -> c.tokens().length).sum();
            int[] chunkIndex = new int[n];
            int[] positions = new int[n];
            int[] tokens = new int[n];
            int[] lastRows = new int[chunks.size()];
            int r = 0;
            for (int c = 0; c < chunks.size(); c++) {
                Chunk chunk = chunks.get(c);
                if (chunk.tokens().length == 0) {
                    throw new IllegalArgumentException("chunk " + c + " has no tokens");
                }
                for (int t = 0; t < chunk.tokens().length; t++, r++) {
                    chunkIndex[r] = c;
                    positions[r] = chunk.start() + t;
                    tokens[r] = chunk.tokens()[t];
                }
                lastRows[c] = r - 1;
            }
            return new Rows(chunks, chunkIndex, positions, tokens, lastRows);
        }

        int count() {
            return tokens.length;
        }

        Chunk chunk(int row) {
            return chunks.get(chunkIndex[row]);
        }

        int position(int row) {
            return positions[row];
        }

        @Override
        public int[] positions() {
            return positions.clone();
        }

        int token(int row) {
            return tokens[row];
        }

        int lastRowOf(int chunk) {
            return lastRows[chunk];
        }
    }

    /** Whole chunks [firstChunk, firstChunk + rows.chunks().size()) and their residual stream {@code h}. */
    private static final class MicroBatch {
        final int firstChunk;
        final Rows rows;
        float[] h;

        MicroBatch(int firstChunk, List<Chunk> chunks) {
            this.firstChunk = firstChunk;
            this.rows = Rows.of(chunks);
        }

        /** Up to {@code m} micro-batches of whole chunks ({@link MicroBatches#split}). */
        static List<MicroBatch> split(List<Chunk> chunks, int m) {
            List<MicroBatch> out = new ArrayList<>();
            int first = 0;
            for (List<Chunk> group : MicroBatches.split(chunks, c -> c.tokens().length, m)) {
                out.add(new MicroBatch(first, group));
                first += group.size();
            }
            return out;
        }
    }
}
