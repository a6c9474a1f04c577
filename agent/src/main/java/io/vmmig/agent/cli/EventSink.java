package io.vmmig.agent.cli;

/** Where {@code vmmig migrate} puts the events it reads: the human display or {@code --json} lines. */
public interface EventSink {
    void accept(ReceivedEvent event);

    /** The stream ended or the client stops reading it: finish any partial line. */
    default void finish() {
    }
}
