package io.vmmig.agent.cli;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code vmmig list}: every migration the local agent knows, running and finished. */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "List the migrations the local agent knows (running and finished).")
public final class ListCommand implements Callable<Integer> {
    @Mixin
    AgentOptions options = new AgentOptions();

    private final CliContext context;

    public ListCommand() {
        this(CliContext.system());
    }

    ListCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        return run(options, context);
    }

    static int run(AgentOptions options, CliContext context) {
        return new AgentQuery<>("list", ControlEvent.Listing.class, l -> MigrationTable.table(l.migrations()))
                .run(ControlRequest.list(), options, context);
    }
}
