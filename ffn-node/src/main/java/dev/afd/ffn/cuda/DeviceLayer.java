package dev.afd.ffn.cuda;

/**
 * One layer's weights on the GPU.
 *
 * @param shared the shared expert of a MoE layer, or the MLP of a dense layer
 * @param experts this node's routed experts of a MoE layer, or null for a dense layer
 */
record DeviceLayer(DeviceMlp shared, DeviceMlp experts) {
    long bytes() {
        return shared.bytes() + (experts == null ? 0 : experts.bytes());
    }

    void free() {
        shared.free();
        if (experts != null) {
            experts.free();
        }
    }
}
