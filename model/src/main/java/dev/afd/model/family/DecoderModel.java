package dev.afd.model.family;

import dev.afd.model.ffn.FfnBatch;
import dev.afd.model.ffn.FfnException;
import dev.afd.model.ffn.FfnExecutor;
import dev.afd.model.ffn.FfnWork;
import dev.afd.model.ffn.Routing;
import dev.afd.model.kernels.MatMul;
import dev.afd.model.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The forward pass every pre-norm decoder family shares: embed, then for each layer {@code h += attention(h)} and
 * {@code h += ffn(norm(h))}, then the final norm and {@code lm_head} on the rows that want logits. Rows are split into
 * micro-batches that take turns through the layers, each one's FFN half submitted to the {@link FfnExecutor} without
 * waiting (the ping-pong of attention-FFN disaggregation). A family supplies its attention, its post-attention norm
 * and router, and its final norm.
 *
 * <p>Threading: one engine thread calls {@link #forward}; kernels fan out on the shared kernel pool.
 */
public abstract class DecoderModel implements CausalLm {
    private final ModelConfig config;
    private final FfnExecutor ffn;
    private final Tensor embed;
    private final Tensor lmHead;
    private final AtomicLong steps = new AtomicLong();

    /**
     * @param embed [V, H]
     * @param lmHead [V, H]
     */
    protected DecoderModel(ModelConfig config, FfnExecutor ffn, Tensor embed, Tensor lmHead) {
        this.config = config;
        this.ffn = ffn;
        this.embed = embed;
        this.lmHead = lmHead;
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    /**
     * The attention half of {@code layer} for every row of {@code h} (rows × H): stores the rows' keys and values in
     * their caches and returns {@code o_proj(attention)}, to add to the residual.
     */
    protected abstract float[] attention(int layer, float[] h, Rows rows);

    /** The post-attention norm of {@code layer} into {@code out} (rows × H). */
    protected abstract void postAttentionNorm(int layer, float[] h, int rows, float[] out);

    /** The routing of the normed rows {@code f} in a MoE layer. */
    protected abstract Routing route(int layer, float[] f, int rows);

    /** The final norm, in place, over {@code rows} rows. */
    protected abstract void finalNorm(float[] h, int rows);

    @Override
    public float[][] forward(List<Chunk> chunks, int microBatches) {
        return run(chunks, microBatches, false).logits();
    }

    @Override
    public StepOutput forwardKeepingHidden(List<Chunk> chunks, int microBatches) {
        return run(chunks, microBatches, true);
    }

    private StepOutput run(List<Chunk> chunks, int microBatches, boolean keepHidden) {
        long step = steps.getAndIncrement();
        List<MicroBatch> batches = MicroBatch.split(chunks, microBatches);
        List<CompletableFuture<float[]>> pending = new ArrayList<>();
        try {
            for (MicroBatch mb : batches) {
                mb.h = embed(mb.rows);
                pending.add(null);
            }
            for (int layer = 0; layer < config.numLayers(); layer++) {
                for (int b = 0; b < batches.size(); b++) {
                    MicroBatch mb = batches.get(b);
                    if (pending.get(b) != null) {
                        addInPlace(mb.h, await(pending.get(b)));
                    }
                    addInPlace(mb.h, attention(layer, mb.h, mb.rows));
                    int n = mb.rows.count();
                    float[] f = new float[mb.h.length];
                    postAttentionNorm(layer, mb.h, n, f);
                    Routing routing = config.isMoeLayer(layer) ? route(layer, f, n) : Routing.none(n);
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
        // logits() norms copies of the wanted rows, so h still holds the stream before the final norm.
        float[][] hidden = keepHidden ? hiddenRows(batches, chunks.size()) : null;
        return new StepOutput(logits(batches, chunks.size()), hidden);
    }

    /** Each chunk's rows of the residual stream, after the last layer. */
    private float[][] hiddenRows(List<MicroBatch> batches, int chunkCount) {
        int hs = config.hiddenSize();
        float[][] out = new float[chunkCount][];
        for (MicroBatch mb : batches) {
            for (int c = 0; c < mb.rows.chunks().size(); c++) {
                int last = mb.rows.lastRowOf(c);
                int first = last + 1 - mb.rows.chunks().get(c).tokens().length;
                out[mb.firstChunk + c] = Arrays.copyOfRange(mb.h, first * hs, (last + 1) * hs);
            }
        }
        return out;
    }

    /** The embedding rows of {@code tokens}, rows × H. */
    protected float[] embed(int[] tokens) {
        int hidden = config.hiddenSize();
        float[] h = new float[tokens.length * hidden];
        for (int r = 0; r < tokens.length; r++) {
            embed.copyTo((long) tokens[r] * hidden, h, r * hidden, hidden);
        }
        return h;
    }

    private float[] embed(Rows rows) {
        int[] tokens = new int[rows.count()];
        for (int r = 0; r < tokens.length; r++) {
            tokens[r] = rows.token(r);
        }
        return embed(tokens);
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
        finalNorm(rows, wanted);
        int vocab = config.vocabSize();
        float[] logits = new float[wanted * vocab];
        MatMul.matmul(lmHead, rows, wanted, logits);
        int row = 0;
        for (int i = 0; i < wantedRows.size(); i++) {
            int n = wantedRows.get(i).length / hidden;
            result[owners.get(i)] = Arrays.copyOfRange(logits, row * vocab, (row + n) * vocab);
            row += n;
        }
        return result;
    }

    /** {@code acc += x}, element by element. */
    protected static void addInPlace(float[] acc, float[] x) {
        for (int i = 0; i < acc.length; i++) {
            acc[i] += x[i];
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
