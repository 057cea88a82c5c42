/**
 * A generation request's life in the gateway: admission, one {@link dev.afd.gateway.lifecycle.ChoiceRun} per choice
 * (one attention-node call each), and the {@link dev.afd.gateway.lifecycle.GenerationJob} that owns them, turns their
 * output into the answer or the event stream, and ends them when the client leaves, stalls or the gateway drains.
 */
package dev.afd.gateway.lifecycle;
