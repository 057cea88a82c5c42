package dev.afd.cli;

import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Lets containers set any option through the environment: {@code --max-tokens} of {@code afd generate} is read from
 * {@code AFD_GENERATE_MAX_TOKENS}, falling back to {@code AFD_MAX_TOKENS}, then to the documented default.
 */
final class EnvironmentDefaults implements IDefaultValueProvider {
    private final Map<String, String> env;

    EnvironmentDefaults() {
        this(System.getenv());
    }

    EnvironmentDefaults(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option)) {
            return arg.defaultValue();
        }
        String optionPart = option.longestName().replaceFirst("^-+", "");
        String command = option.command() == null ? "" : option.command().name();
        for (String key : new String[] {variable(command + "_" + optionPart), variable(optionPart)}) {
            String value = env.get(key);
            if (value != null) {
                return value;
            }
        }
        return option.defaultValue();
    }

    /** The environment variable for an option name, e.g. {@code max-tokens} → {@code AFD_MAX_TOKENS}. */
    static String variable(String name) {
        return "AFD_" + name.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]+", "_");
    }
}
