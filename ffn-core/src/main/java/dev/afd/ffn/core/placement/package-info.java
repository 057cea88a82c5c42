/**
 * Where routed experts should live, from measured load: parsing the per-expert routed-token counts, the contiguous
 * split that static layouts use, and a planner that replicates hot experts and balances nodes (expert-parallel load
 * balancing, after DeepSeek's EPLB).
 */
package dev.afd.ffn.core.placement;
