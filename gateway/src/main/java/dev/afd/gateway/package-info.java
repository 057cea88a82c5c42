/**
 * The gateway: the OpenAI-compatible HTTP front door (tokenizer, validation, routing, SSE streaming, metrics).
 */
package dev.afd.gateway;
