package dev.afd.model.config;

/** A config that cannot describe a model this engine serves; the message names the key and what to do. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
