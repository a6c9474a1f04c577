package io.vmmig.agent;

import io.vmmig.agent.bench.BenchCommand;
import io.vmmig.agent.daemon.AgentCommand;
import io.vmmig.agent.demo.DemoCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code vmmig} command. */
@Command(name = "vmmig", mixinStandardHelpOptions = true, version = "vmmig 0.1.0",
        description = "Live migration of QEMU/KVM guests with their local disks.",
        subcommands = {AgentCommand.class, DemoCommand.class, BenchCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:the migration failed (the guest keeps running at the source)",
                "2:bad command line", "3:environment problem (QEMU missing or too old, no test guest)"})
public final class Main implements Runnable {
    public static final int EXIT_FAILED = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_ENVIRONMENT = 3;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        int code = new CommandLine(new Main()).setExitCodeExceptionMapper(e -> EXIT_FAILED).execute(args);
        System.exit(code);
    }
}
