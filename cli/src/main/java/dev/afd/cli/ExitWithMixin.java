package dev.afd.cli;

import java.lang.System.Logger.Level;
import picocli.CommandLine.Option;

/**
 * {@code --exit-with}, shared by the roles {@code serve --local} starts as child processes: a child exits when its
 * parent is gone, so no node is left running.
 */
final class ExitWithMixin {
    @Option(names = "--exit-with", hidden = true, description = "Exit when this process id exits (used by serve --local).")
    Long pid;

    /** Exits this process once the {@code --exit-with} process has; does nothing without the option. */
    void watchParent() {
        if (pid == null) {
            return;
        }
        ProcessHandle.of(pid).ifPresentOrElse(
                parent -> parent.onExit().thenRun(() -> {
                    System.getLogger(ExitWithMixin.class.getName()).log(Level.INFO, "parent " + pid + " exited; stopping");
                    System.exit(0);
                }),
                () -> System.exit(0));
    }
}
