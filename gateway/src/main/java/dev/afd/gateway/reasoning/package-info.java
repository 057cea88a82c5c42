/**
 * Reasoning parsers ({@code --reasoning-parser}): a chat answer's text split into the model's reasoning
 * ({@code reasoning_content}) and its answer ({@code content}), whole or while it streams.
 */
package dev.afd.gateway.reasoning;
