package io.vmmig.agent.cli;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import java.util.function.Function;

/**
 * A one-answer exchange for {@code status}, {@code list} and {@code cancel}: send the request, wait for the
 * answer (at most {@link ControlClient#ANSWER_TIMEOUT}), print it (as text, or the raw line with
 * {@code --json}), and return the exit code: 0, or the failure's {@link ErrorKind#exitCode}.
 */
final class AgentQuery<T extends ControlEvent> {
    private final String command;
    private final Class<T> answerType;
    private final Function<T, String> text;

    /**
     * @param command    the subcommand's name, for error messages ({@code status})
     * @param answerType the event that answers the request
     * @param text       the answer as text
     */
    AgentQuery(String command, Class<T> answerType, Function<T, String> text) {
        this.command = command;
        this.answerType = answerType;
        this.text = text;
    }

    int run(ControlRequest request, AgentOptions options, CliContext context) {
        ReceivedEvent answer;
        try {
            answer = ControlClient.ask(options.socket(context), request, ControlClient.ANSWER_TIMEOUT);
        } catch (ControlClientException e) {
            context.err().println("vmmig " + command + ": " + e.getMessage());
            return e.kind().exitCode;
        }
        if (options.json()) new JsonLines(context.stdout()).accept(answer);
        if (answer.event() instanceof ControlEvent.Failure f) {
            context.err().println("vmmig " + command + ": " + f.message());
            return (f.kind() == null ? ErrorKind.FAILED : f.kind()).exitCode;
        }
        if (!answerType.isInstance(answer.event())) {
            context.err().println("vmmig " + command + ": the agent answered with something else than a "
                    + answerType.getSimpleName() + " event: " + answer.line());
            return ErrorKind.UNREACHABLE.exitCode;
        }
        if (!options.json()) {
            var out = context.out();
            out.print(text.apply(answerType.cast(answer.event())));
            out.flush();
        }
        return 0;
    }
}
