/**
 * The wire formats of activation rows: f32, bf16 and fp8-e4m3 with per-row scales, encoded straight into the
 * {@code bytes} fields of frames without copies through Java arrays.
 */
package dev.afd.wire;
