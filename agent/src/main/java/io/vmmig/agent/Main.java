package io.vmmig.agent;

import io.vmmig.agent.cli.CancelCommand;
import io.vmmig.agent.cli.ListCommand;
import io.vmmig.agent.cli.MigrateCommand;
import io.vmmig.agent.cli.StatusCommand;
import io.vmmig.agent.daemon.AgentCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code vmmig} command. */
@Command(name = "vmmig", mixinStandardHelpOptions = true, version = "vmmig 0.1.0",
        description = "Live migration of QEMU/KVM guests with their local disks.",
        subcommands = {MigrateCommand.class, StatusCommand.class, ListCommand.class, CancelCommand.class,
                AgentCommand.class, io.vmmig.agent.cli.CliWarmUp.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:the migration failed (the message says where the guest runs)",
                "2:bad command line or request", "3:environment problem (QEMU missing or too old, a disk vmmig cannot handle)",
                "4:the local agent or the destination agent cannot be reached",
                "5:the agents do not trust each other (certificate, host name, token)",
                "6:unknown VM or migration id", "7:not enough space at the destination",
                "8:cancelled before the switchover (the message says where the guest runs)",
                "9:detached after the switchover (the migration goes on in the agent)",
                "10:the destination refused the VM description (the message names the option)",
                "78:vmmig agent: its configuration or command line cannot work (each problem on a line; systemd does not restart it)"})
public final class Main implements java.util.concurrent.Callable<Integer> {
    public static final int EXIT_FAILED = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_ENVIRONMENT = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** {@code vmmig} without a command: the usage on stderr, and a usage error (a script's typo must not pass). */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return EXIT_USAGE;
    }

    public static void main(String[] args) {
        System.exit(commandLine(CommandLine.defaultFactory()).execute(args));
    }

    /** The {@code vmmig} command line, its subcommands made by {@code factory} (tests give their own). */
    public static CommandLine commandLine(CommandLine.IFactory factory) {
        return new CommandLine(new Main(), factory).setExitCodeExceptionMapper(e -> {
            if (!(e instanceof CommandLine.ParameterException p)) return EXIT_FAILED;
            // a wrong ExecStart= line is a configuration error too: systemd must not restart it
            return p.getCommandLine().getCommand() instanceof AgentCommand ? AgentCommand.EXIT_CONFIG : EXIT_USAGE;
        });
    }
}
