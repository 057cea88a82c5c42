package dev.afd.cli;

import dev.afd.transport.AfdVersion;
import java.security.Security;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code afd} command: one jar, a sub-command for every role. */
@Command(
        name = "afd",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "AFD Server: Step-3 MoE inference with attention-FFN disaggregation.",
        subcommands = {CommandLine.HelpCommand.class, MakeModelCommand.class, GenerateCommand.class,
            BenchCommand.class, CostCommand.class, ExpertsCommand.class, FfnCommand.class, AttentionCommand.class,
            GatewayCommand.class, ServeCommand.class, DemoCommand.class})
public final class Main {
    /** {@code afd --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"afd " + AfdVersion.VERSION};
        }
    }

    public static void main(String[] args) {
        // Membership follows DNS (--ffn name:port, --attention-dns): the JVM's default 30 s cache would hide changes.
        if (Security.getProperty("networkaddress.cache.ttl") == null) {
            Security.setProperty("networkaddress.cache.ttl", "1");
        }
        System.exit(commandLine().execute(args));
    }

    /** The command tree; every option can also be set through an {@code AFD_...} environment variable. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setDefaultValueProvider(new EnvironmentDefaults());
        cl.setExecutionExceptionHandler(new UserErrors());
        return cl;
    }
}
