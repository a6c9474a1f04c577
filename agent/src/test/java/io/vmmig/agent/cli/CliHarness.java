package io.vmmig.agent.cli;

import io.vmmig.agent.Main;
import java.util.Map;
import picocli.CommandLine;

/** Runs {@code vmmig ...} as Main configures it, with captured stdout/stderr, a given environment and manual Ctrl-C. */
final class CliHarness {
    final CapturedOutput out = new CapturedOutput();
    final CapturedOutput err = new CapturedOutput();
    final ManualInterrupts interrupts = new ManualInterrupts();
    private final CliContext context;

    CliHarness(boolean tty, Map<String, String> env) {
        context = new CliContext(out, err.printStream(), tty, env::get, interrupts);
    }

    CliHarness() {
        this(false, Map.of());
    }

    CliContext context() {
        return context;
    }

    /** The exit code of {@code vmmig args...}. */
    int run(String... args) {
        CommandLine cl = Main.commandLine(new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                Object made = cls == MigrateCommand.class ? new MigrateCommand(context)
                        : cls == StatusCommand.class ? new StatusCommand(context)
                        : cls == ListCommand.class ? new ListCommand(context)
                        : cls == CancelCommand.class ? new CancelCommand(context)
                        : CommandLine.defaultFactory().create(cls);
                return cls.cast(made);
            }
        });
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(err, true));
        return cl.execute(args);
    }
}
