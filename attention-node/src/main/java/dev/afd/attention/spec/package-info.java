/**
 * Speculative decoding: a {@link dev.afd.attention.spec.Drafter} proposes tokens to follow a decoding sequence, the
 * engine feeds them with the sequence's last token in one step, and {@link dev.afd.attention.spec.DraftVerifier}
 * keeps those the target model agrees with. See docs/design.md.
 */
package dev.afd.attention.spec;
