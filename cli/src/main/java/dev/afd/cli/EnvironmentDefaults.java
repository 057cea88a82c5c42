package dev.afd.cli;

import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Lets containers set any option through the environment: {@code --max-tokens} of {@code afd generate} is read from
 * {@code AFD_GENERATE_MAX_TOKENS}, falling back to {@code AFD_MAX_TOKENS}, then to the documented default. Sub-commands
 * of sub-commands use their full path ({@code AFD_BENCH_SERVE_MODEL}) and, being tools, take no generic fallback.
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
        String command = option.command() == null ? "" : option.command().qualifiedName("_").replaceFirst("^afd_?", "");
        String specific = env.get(variable(command + "_" + optionPart));
        if (specific != null) {
            return specific;
        }
        // Benchmarks are tools, not deployed roles: a deployment's AFD_MODEL must not become a load test's model name.
        String generic = command.startsWith("bench") ? null : env.get(variable(optionPart));
        return generic != null ? generic : option.defaultValue();
    }

    /** The environment variable for an option name, e.g. {@code max-tokens} → {@code AFD_MAX_TOKENS}. */
    static String variable(String name) {
        return "AFD_" + name.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]+", "_");
    }
}
