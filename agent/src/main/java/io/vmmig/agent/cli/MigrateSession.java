package io.vmmig.agent.cli;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One {@code vmmig migrate}: sends the request, hands every event to the sink until the final one, and
 * turns the end into an exit code (0 for the report, the failure's {@link ErrorKind#exitCode} otherwise).
 * Ctrl-C is handled on this thread between events, as {@link InterruptDecision} says: cancel on a second
 * connection and read on until the stream ends (at most {@code cancelWait}), or detach.
 */
public final class MigrateSession {
    /** How long the client reads on after asking for a cancellation. */
    public static final Duration CANCEL_WAIT = Duration.ofSeconds(60);

    private final Path socket;
    private final ControlRequest request;
    private final EventSink sink;
    private final CliContext context;
    private final Duration cancelWait;
    private final AtomicInteger interrupts = new AtomicInteger();

    private String id;
    private MigrationPhase phase;
    private boolean cancelRequested;
    private boolean cancelWhenAccepted;
    private Instant deadline;

    public MigrateSession(Path socket, ControlRequest request, EventSink sink, CliContext context, Duration cancelWait) {
        this.socket = socket;
        this.request = request;
        this.sink = sink;
        this.context = context;
        this.cancelWait = cancelWait;
    }

    /** Runs the migration to its end, or until Ctrl-C ends the client; the exit code. */
    public int run() {
        try (ControlClient client = ControlClient.connect(socket)) {
            InterruptSource.Registration ctrlC = context.interrupts().onInterrupt(() -> {
                interrupts.incrementAndGet();
                client.wakeup();
            });
            try {
                client.send(request);
                deadline = Instant.now().plus(ControlClient.ANSWER_TIMEOUT);
                return follow(client);
            } finally {
                ctrlC.close();
            }
        } catch (ControlClientException e) {
            sink.finish();
            String where = id == null ? "" : " (migration " + id + " may go on in the agent; see `vmmig status " + id + "`)";
            return fail(e.kind(), e.getMessage() + where);
        }
    }

    private int follow(ControlClient client) {
        while (true) {
            while (interrupts.getAndSet(0) > 0) {
                Integer exit = interrupted();
                if (exit != null) return exit;
            }
            ReceivedEvent received;
            try {
                received = client.next(deadline);
            } catch (ControlTimeoutException e) {
                if (!cancelRequested && !cancelWhenAccepted) throw e;
                sink.finish();
                String which = id == null ? "the migration" : "migration " + id;
                return fail(ErrorKind.CANCELLED, "cancel requested, but " + which + " did not end within "
                        + cancelWait.toSeconds() + " s" + (id == null ? "" : "; see `vmmig status " + id + "`"));
            }
            if (received == null) continue;
            ControlEvent event = received.event();
            sink.accept(received);
            if (event instanceof ControlEvent.Accepted a) {
                id = a.id();
                if (!cancelRequested) deadline = null;
                if (cancelWhenAccepted) cancel();
            } else if (event instanceof ControlEvent.PhaseChange c && c.phase() != null) {
                phase = c.phase();
            } else if (event instanceof ControlEvent.Progress p && p.phase() != null) {
                phase = p.phase();
            } else if (event instanceof ControlEvent.Report) {
                sink.finish();
                return 0;
            } else if (event instanceof ControlEvent.Failure f) {
                sink.finish();
                return fail(f.kind() == null ? ErrorKind.FAILED : f.kind(), f.message());
            } else if (event.terminal()) {
                sink.finish();
                return fail(ErrorKind.UNREACHABLE, "the vmmig agent at " + socket
                        + " answered the migrate request with a " + event.getClass().getSimpleName() + " event");
            }
        }
    }

    /** Handles one Ctrl-C; the exit code if the client stops now. */
    private Integer interrupted() {
        switch (InterruptDecision.decide(id, phase, cancelRequested || cancelWhenAccepted)) {
            case DETACH -> {
                sink.finish();
                context.err().println("detached: migration " + id + " goes on in the agent; see `vmmig status " + id + "`");
                return ErrorKind.DETACHED.exitCode;
            }
            case STOP_WAITING -> {
                sink.finish();
                String which = id == null ? "the migration" : "migration " + id;
                return fail(ErrorKind.CANCELLED, "stopped waiting; the cancellation of " + which + " goes on in the agent"
                        + (id == null ? "" : "; see `vmmig status " + id + "`"));
            }
            case CANCEL_WHEN_ACCEPTED -> {
                cancelWhenAccepted = true;
                deadline = Instant.now().plus(cancelWait);
                return null;
            }
            case CANCEL -> {
                cancel();
                return null;
            }
        }
        throw new IllegalStateException("unhandled interrupt decision");
    }

    private void cancel() {
        cancelRequested = true;
        deadline = Instant.now().plus(cancelWait);
        sink.finish();
        context.err().println("vmmig migrate: cancelling migration " + id + " before its switchover");
        try {
            ReceivedEvent answer = ControlClient.ask(socket, ControlRequest.cancel(id), ControlClient.ANSWER_TIMEOUT);
            if (answer.event() instanceof ControlEvent.Failure f) {
                context.err().println("vmmig migrate: the agent refused to cancel migration " + id + ": " + f.message());
            }
        } catch (ControlClientException e) {
            context.err().println("vmmig migrate: cannot cancel migration " + id + ": " + e.getMessage());
        }
    }

    private int fail(ErrorKind kind, String message) {
        context.err().println("vmmig migrate: " + message);
        return kind.exitCode;
    }
}
