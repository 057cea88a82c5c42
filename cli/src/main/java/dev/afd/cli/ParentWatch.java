package dev.afd.cli;

import java.lang.System.Logger.Level;

/** Lets a child process of {@code serve --local} exit when its parent is gone, so no node is left running. */
final class ParentWatch {
    private ParentWatch() {}

    static void exitWith(Long pid) {
        if (pid == null) {
            return;
        }
        ProcessHandle.of(pid).ifPresentOrElse(
                parent -> parent.onExit().thenRun(() -> {
                    System.getLogger(ParentWatch.class.getName()).log(Level.INFO, "parent " + pid + " exited; stopping");
                    System.exit(0);
                }),
                () -> System.exit(0));
    }
}
