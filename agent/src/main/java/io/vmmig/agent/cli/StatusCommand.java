package io.vmmig.agent.cli;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code vmmig status [ID]}: one migration in detail; without an id, the same as {@code vmmig list}. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show one migration; without ID, list them all.")
public final class StatusCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "ID", description = "migration id (from migrate or list)")
    String id;

    @Mixin
    AgentOptions options = new AgentOptions();

    private final CliContext context;

    public StatusCommand() {
        this(CliContext.system());
    }

    StatusCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        if (id == null) return ListCommand.run(options, context);
        return new AgentQuery<>("status", ControlEvent.Status.class, s -> MigrationTable.detail(s.migration()))
                .run(ControlRequest.status(id), options, context);
    }
}
