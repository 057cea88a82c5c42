package dev.afd.model.tensor;

import java.util.Set;

/** Looks tensors up by their checkpoint name. */
public interface TensorSource {
    /** The tensor called {@code name}, or {@code null} when there is none. */
    Tensor find(String name);

    /** Every tensor name this source holds. */
    Set<String> names();
}
