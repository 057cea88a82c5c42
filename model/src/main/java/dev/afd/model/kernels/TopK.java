package dev.afd.model.kernels;

/** Selection of the largest values, for routing and sampling. */
public final class TopK {
    private TopK() {}

    /**
     * Indices of the k largest values of x[off, off+n) (relative to off), largest first; equal values go to the lower
     * index first. NaN ranks below every number. O(n log k).
     */
    public static int[] topK(float[] x, int off, int n, int k) {
        if (off < 0 || n < 0 || off > x.length - n) {
            throw new IndexOutOfBoundsException("range [" + off + ", " + off + " + " + n + ") outside an array of "
                    + x.length);
        }
        if (k < 0 || k > n) {
            throw new IllegalArgumentException("cannot pick the top " + k + " of " + n + " values");
        }
        // A min-heap (by rank) of the best k seen so far: its root is the one to evict next.
        int[] heap = new int[k];
        int size = 0;
        for (int i = 0; i < n; i++) {
            if (size < k) {
                heap[size] = i;
                siftUp(x, off, heap, size++);
            } else if (k > 0 && ranksAbove(x, off, i, heap[0])) {
                heap[0] = i;
                siftDown(x, off, heap, size);
            }
        }
        // Pop worst-first into the back of the result.
        int[] result = new int[k];
        for (int slot = k - 1; slot >= 0; slot--) {
            result[slot] = heap[0];
            heap[0] = heap[--size];
            siftDown(x, off, heap, size);
        }
        return result;
    }

    /** Whether index a outranks index b: larger value, or equal value and lower index; NaN is lowest. */
    private static boolean ranksAbove(float[] x, int off, int a, int b) {
        float va = x[off + a];
        float vb = x[off + b];
        if (va > vb || (Float.isNaN(vb) && !Float.isNaN(va))) {
            return true;
        }
        boolean equal = va == vb || (Float.isNaN(va) && Float.isNaN(vb));
        return equal && a < b;
    }

    private static void siftUp(float[] x, int off, int[] heap, int at) {
        while (at > 0) {
            int parent = (at - 1) >>> 1;
            if (!ranksAbove(x, off, heap[parent], heap[at])) {
                return;
            }
            swap(heap, parent, at);
            at = parent;
        }
    }

    private static void siftDown(float[] x, int off, int[] heap, int size) {
        int at = 0;
        while (true) {
            int worst = at;
            int left = 2 * at + 1;
            int right = left + 1;
            if (left < size && ranksAbove(x, off, heap[worst], heap[left])) {
                worst = left;
            }
            if (right < size && ranksAbove(x, off, heap[worst], heap[right])) {
                worst = right;
            }
            if (worst == at) {
                return;
            }
            swap(heap, at, worst);
            at = worst;
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
