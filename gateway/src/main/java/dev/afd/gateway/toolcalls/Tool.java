package dev.afd.gateway.toolcalls;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A function the request offers the model.
 *
 * @param name the function's name
 * @param parameters the JSON schema of its arguments (an object schema with no properties when the request gave none)
 */
public record Tool(String name, JsonNode parameters) {}
