package io.vmmig.lab;

import io.vmmig.agent.Main;
import io.vmmig.lab.bench.BenchCommand;
import io.vmmig.lab.demo.DemoCommand;
import picocli.CommandLine;

/**
 * {@code vmmig} as {@code ./vmmig} runs it from the source tree for {@code demo} and {@code bench}: the
 * product's command ({@link Main}) with the lab's subcommands added. The packages carry {@link Main} only.
 */
public final class LabMain {
    private LabMain() {
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The product's {@code vmmig} command line plus {@code demo} and {@code bench}. */
    public static CommandLine commandLine() {
        return Main.commandLine(CommandLine.defaultFactory())
                .addSubcommand(new DemoCommand())
                .addSubcommand(new BenchCommand());
    }
}
