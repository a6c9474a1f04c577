package io.vmmig.agent.cli;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code vmmig cancel ID}: asks the agent to cancel a migration before its switchover. */
@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = "Cancel a migration before its switchover (the guest keeps running at the source).")
public final class CancelCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "migration id")
    String id;

    @Mixin
    AgentOptions options = new AgentOptions();

    private final CliContext context;

    public CancelCommand() {
        this(CliContext.system());
    }

    CancelCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        return new AgentQuery<>("cancel", ControlEvent.Cancelling.class,
                c -> "cancelling migration " + c.id() + "; `vmmig status " + c.id() + "` shows when it ended\n")
                .run(ControlRequest.cancel(id), options, context);
    }
}
