package dev.afd.model.family;

import java.util.Arrays;

/**
 * The KV cache's shape, layer by layer. Each KV head of each layer is one <em>slot</em> of the cache: a slot holds
 * one {@code headDim}-wide key and value row per position, so the cache stores every layout, MFA's one head per layer
 * and GQA's groups alike, as {@link #slots()} single-head layers. Layer l's heads are slots
 * {@code firstSlot(l) .. firstSlot(l) + kvHeads(l) - 1}.
 *
 * @param headDim width of every key and value row
 * @param kvHeads KV heads of each layer
 * @param windows each layer's sliding window in positions (a row sees the last {@code window} positions, its own
 *     included), or 0 where the layer attends to every position
 */
public record KvLayout(int headDim, int[] kvHeads, int[] windows) {
    public KvLayout {
        kvHeads = kvHeads.clone();
        windows = windows.clone();
        if (headDim < 1 || kvHeads.length == 0 || kvHeads.length != windows.length
                || Arrays.stream(kvHeads).anyMatch(h -> h < 1) || Arrays.stream(windows).anyMatch(w -> w < 0)) {
            throw new IllegalArgumentException("a KV layout needs head_dim >= 1 and, for each layer, KV heads >= 1 and"
                    + " a window >= 0; got head_dim " + headDim + ", heads " + Arrays.toString(kvHeads)
                    + ", windows " + Arrays.toString(windows));
        }
    }

    /** One KV head of {@code headDim} per layer, every layer attending to every position (Step-3's MFA). */
    public static KvLayout singleHead(int layers, int headDim) {
        int[] heads = new int[layers];
        Arrays.fill(heads, 1);
        return new KvLayout(headDim, heads, new int[layers]);
    }

    public int layers() {
        return kvHeads.length;
    }

    public int kvHeads(int layer) {
        return kvHeads[layer];
    }

    /** The layer's sliding window, 0 for full attention. */
    public int window(int layer) {
        return windows[layer];
    }

    /** The first position that a row at {@code pos} of {@code layer} attends to. */
    public int firstVisible(int layer, int pos) {
        int w = windows[layer];
        return w == 0 ? 0 : Math.max(0, pos + 1 - w);
    }

    /** The cache slot of KV head {@code head} of {@code layer}. */
    public int slot(int layer, int head) {
        int s = 0;
        for (int l = 0; l < layer; l++) {
            s += kvHeads[l];
        }
        return s + head;
    }

    /** Single-head slots over all layers: what the cache allocates per position. */
    public int slots() {
        return Arrays.stream(kvHeads).sum();
    }

    @Override
    public int[] kvHeads() {
        return kvHeads.clone();
    }

    @Override
    public int[] windows() {
        return windows.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KvLayout k && k.headDim == headDim && Arrays.equals(k.kvHeads, kvHeads)
                && Arrays.equals(k.windows, windows);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * headDim + Arrays.hashCode(kvHeads)) + Arrays.hashCode(windows);
    }

    @Override
    public String toString() {
        return "KvLayout[headDim=" + headDim + ", kvHeads=" + Arrays.toString(kvHeads) + ", windows="
                + Arrays.toString(windows) + "]";
    }
}
