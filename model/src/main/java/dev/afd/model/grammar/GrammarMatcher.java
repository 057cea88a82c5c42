package dev.afd.model.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a {@link Grammar} over bytes. A {@link State} is the set of places the input so far may have reached, each a
 * node plus the stack of nodes to return to (interned, so a place is one {@code long}); states are interned too, and
 * each remembers its successor per byte, so walking the same bytes again (every token of the vocabulary, at every
 * step) costs an array lookup once a state was seen.
 *
 * <p>Memory is bounded: past {@link #MAX_STATES} states the tables start over (the states still held stay valid).
 *
 * <p>Not thread-safe: one sequence, one engine thread.
 */
public final class GrammarMatcher {
    /** Distinct states kept before the tables start over. */
    static final int MAX_STATES = 20_000;
    /** Deeper return stacks are dropped: only a left-recursive grammar, which compilers do not emit, gets there. */
    static final int MAX_DEPTH = 2_048;
    private static final int INFINITE = Integer.MAX_VALUE / 4;

    private final int[] byteStart;
    private final int[] byteLo;
    private final int[] byteHi;
    private final int[] byteTarget;
    private final int[] otherStart;
    private final int[] otherKind;
    private final int[] otherCallee;
    private final int[] otherTarget;
    private final boolean[] returns;
    /** Fewest bytes from a node to the end of its rule. */
    private final int[] nodeDistance;
    private final State start;
    private final State dead;

    // Interned return stacks: id 0 is the empty stack.
    private int[] stackNode = new int[64];
    private int[] stackParent = new int[64];
    private int[] stackDepth = new int[64];
    private int[] stackDistance = new int[64];
    private int stacks = 1;
    private final Map<Long, Integer> stackIds = new HashMap<>();
    private Map<Key, State> states = new HashMap<>();
    private int epoch;

    /** A set of places, normalised: only places that read a byte, and the accepting place. */
    public static final class State {
        private final long[] places;
        private final boolean accepting;
        private final int distance;
        private final int epoch;
        private State[] next;

        private State(long[] places, boolean accepting, int distance, int epoch) {
            this.places = places;
            this.accepting = accepting;
            this.distance = distance;
            this.epoch = epoch;
        }

        /** Whether the input so far is a complete sentence. */
        public boolean accepting() {
            return accepting;
        }

        /** No continuation can ever be accepted. */
        public boolean dead() {
            return places.length == 0 && !accepting;
        }

        /** Fewest bytes still needed to complete a sentence ({@code Integer.MAX_VALUE / 4} when none can). */
        public int distance() {
            return distance;
        }
    }

    private record Key(long[] places) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(k.places, places);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(places);
        }
    }

    public GrammarMatcher(Grammar g) {
        int n = g.nodes();
        int[] e = g.edges();
        byteStart = new int[n + 1];
        otherStart = new int[n + 1];
        for (int i = 0; i < e.length; i += Grammar.EDGE_INTS) {
            (e[i + 1] == Grammar.BYTES ? byteStart : otherStart)[e[i] + 1]++;
        }
        for (int i = 0; i < n; i++) {
            byteStart[i + 1] += byteStart[i];
            otherStart[i + 1] += otherStart[i];
        }
        byteLo = new int[byteStart[n]];
        byteHi = new int[byteStart[n]];
        byteTarget = new int[byteStart[n]];
        otherKind = new int[otherStart[n]];
        otherCallee = new int[otherStart[n]];
        otherTarget = new int[otherStart[n]];
        int[] bytesFill = Arrays.copyOf(byteStart, n);
        int[] otherFill = Arrays.copyOf(otherStart, n);
        for (int i = 0; i < e.length; i += Grammar.EDGE_INTS) {
            if (e[i + 1] == Grammar.BYTES) {
                int at = bytesFill[e[i]]++;
                byteLo[at] = e[i + 2];
                byteHi[at] = e[i + 3];
                byteTarget[at] = e[i + 4];
            } else {
                int at = otherFill[e[i]]++;
                otherKind[at] = e[i + 1];
                otherCallee[at] = e[i + 2];
                otherTarget[at] = e[i + 4];
            }
        }
        returns = new boolean[n];
        for (int r : g.returns()) {
            returns[r] = true;
        }
        nodeDistance = distances(g);
        dead = new State(new long[0], false, INFINITE, -1);
        start = closure(new long[] {place(g.start(), 0)}, 1);
    }

    /**
     * Fewest bytes from each node to the end of its rule, a call costing its rule's shortest sentence: a worklist
     * relaxation (weights are 0 or 1, so each node settles after few visits) that re-examines an edge's source
     * whenever its target, or the rule it calls, got shorter.
     */
    private int[] distances(Grammar g) {
        int n = g.nodes();
        int[] e = g.edges();
        int edgeCount = e.length / Grammar.EDGE_INTS;
        // Edges by the node whose distance they read: the target, and for a call also the callee's start.
        int[] readerStart = new int[n + 1];
        for (int i = 0; i < e.length; i += Grammar.EDGE_INTS) {
            readerStart[e[i + 4] + 1]++;
            if (e[i + 1] == Grammar.CALL) {
                readerStart[e[i + 2] + 1]++;
            }
        }
        for (int i = 0; i < n; i++) {
            readerStart[i + 1] += readerStart[i];
        }
        int[] readers = new int[readerStart[n]];
        int[] fill = Arrays.copyOf(readerStart, n);
        for (int k = 0; k < edgeCount; k++) {
            int i = k * Grammar.EDGE_INTS;
            readers[fill[e[i + 4]]++] = k;
            if (e[i + 1] == Grammar.CALL) {
                readers[fill[e[i + 2]]++] = k;
            }
        }
        int[] d = new int[n];
        Arrays.fill(d, INFINITE);
        ArrayDeque<Integer> work = new ArrayDeque<>();
        for (int r : g.returns()) {
            d[r] = 0;
            work.add(r);
        }
        while (!work.isEmpty()) {
            int node = work.poll();
            for (int j = readerStart[node]; j < readerStart[node + 1]; j++) {
                int i = readers[j] * Grammar.EDGE_INTS;
                int from = e[i];
                if (returns[from]) {
                    continue;
                }
                int to = d[e[i + 4]];
                int via = switch (e[i + 1]) {
                    case Grammar.BYTES -> to + 1;
                    case Grammar.EPSILON -> to;
                    default -> d[e[i + 2]] + to;
                };
                via = Math.min(via, INFINITE);
                if (via < d[from]) {
                    d[from] = via;
                    work.add(from);
                }
            }
        }
        return d;
    }

    public State start() {
        return start;
    }

    /** The state after reading byte {@code b} in {@code s}; {@link State#dead()} when the byte cannot follow. */
    public State advance(State s, int b) {
        if (s.places.length == 0) {
            return dead;
        }
        if (s.epoch == epoch && s.next != null && s.next[b] != null) {
            return s.next[b];
        }
        long[] seeds = new long[4];
        int count = 0;
        for (long p : s.places) {
            int node = (int) (p >>> 32);
            for (int i = byteStart[node]; i < byteStart[node + 1]; i++) {
                if (b >= byteLo[i] && b <= byteHi[i]) {
                    if (count == seeds.length) {
                        seeds = Arrays.copyOf(seeds, count * 2);
                    }
                    seeds[count++] = place(byteTarget[i], (int) p);
                }
            }
        }
        State result = count == 0 ? dead : closure(seeds, count);
        if (s.epoch == epoch) {
            if (s.next == null) {
                s.next = new State[256];
            }
            s.next[b] = result;
        }
        return result;
    }

    /** The state after reading {@code bytes} in {@code s}. */
    public State advance(State s, byte[] bytes) {
        for (byte b : bytes) {
            s = advance(s, b & 0xFF);
        }
        return s;
    }

    /** Follows epsilon edges, calls and returns from the seeds; keeps the places that read a byte or accept. */
    private State closure(long[] seeds, int count) {
        Set<Long> seen = new HashSet<>();
        long[] work = Arrays.copyOf(seeds, Math.max(count, 8));
        int top = count;
        List<Long> kept = new ArrayList<>();
        boolean accepting = false;
        while (top > 0) {
            long p = work[--top];
            if (!seen.add(p)) {
                continue;
            }
            int node = (int) (p >>> 32);
            int stack = (int) p;
            if (byteStart[node] < byteStart[node + 1]) {
                kept.add(p);
            }
            List<Long> followers = new ArrayList<>(2);
            if (returns[node]) {
                if (stack == 0) {
                    if (!accepting) {
                        accepting = true;
                        kept.add(place(node, 0));
                    }
                } else {
                    followers.add(place(stackNode[stack], stackParent[stack]));
                }
            }
            for (int i = otherStart[node]; i < otherStart[node + 1]; i++) {
                if (otherKind[i] == Grammar.EPSILON) {
                    followers.add(place(otherTarget[i], stack));
                } else if (stackDepth[stack] < MAX_DEPTH) {
                    followers.add(place(otherCallee[i], push(otherTarget[i], stack)));
                }
            }
            for (long f : followers) {
                if (top == work.length) {
                    work = Arrays.copyOf(work, top * 2);
                }
                work[top++] = f;
            }
        }
        long[] places = kept.stream().mapToLong(Long::longValue).sorted().toArray();
        return intern(places, accepting);
    }

    private State intern(long[] places, boolean accepting) {
        if (places.length == 0) {
            return dead;
        }
        Key key = new Key(places);
        State s = states.get(key);
        if (s == null) {
            if (states.size() >= MAX_STATES) {
                states = new HashMap<>();
                epoch++;
            }
            int distance = INFINITE;
            for (long p : places) {
                distance = Math.min(distance, Math.min(INFINITE, nodeDistance[(int) (p >>> 32)]
                        + stackDistance[(int) p]));
            }
            s = new State(places, accepting, accepting ? 0 : distance, epoch);
            states.put(key, s);
        }
        return s;
    }

    private int push(int returnNode, int parent) {
        long key = place(returnNode, parent);
        Integer id = stackIds.get(key);
        if (id != null) {
            return id;
        }
        if (stacks == stackNode.length) {
            stackNode = Arrays.copyOf(stackNode, stacks * 2);
            stackParent = Arrays.copyOf(stackParent, stacks * 2);
            stackDepth = Arrays.copyOf(stackDepth, stacks * 2);
            stackDistance = Arrays.copyOf(stackDistance, stacks * 2);
        }
        stackNode[stacks] = returnNode;
        stackParent[stacks] = parent;
        stackDepth[stacks] = stackDepth[parent] + 1;
        stackDistance[stacks] = Math.min(INFINITE, nodeDistance[returnNode] + stackDistance[parent]);
        stackIds.put(key, stacks);
        return stacks++;
    }

    private static long place(int node, int stack) {
        return ((long) node << 32) | (stack & 0xFFFFFFFFL);
    }
}
