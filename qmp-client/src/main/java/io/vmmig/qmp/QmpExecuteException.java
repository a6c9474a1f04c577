package io.vmmig.qmp;

import com.fasterxml.jackson.databind.JsonNode;

/** QEMU answered a command with an error: carries QEMU's error class and description and the command sent. */
public class QmpExecuteException extends QmpException {
    private final String errorClass;
    private final String description;
    private final String command;
    private final JsonNode arguments;

    public QmpExecuteException(String errorClass, String description, String command, JsonNode arguments) {
        super(command + (arguments == null ? "" : " " + arguments) + " failed: " + errorClass + ": " + description);
        this.errorClass = errorClass;
        this.description = description;
        this.command = command;
        this.arguments = arguments;
    }

    /** QEMU's error class, e.g. {@code GenericError} or {@code DeviceNotFound}. */
    public String errorClass() {
        return errorClass;
    }

    /** QEMU's human-readable description. */
    public String description() {
        return description;
    }

    /** Name of the command that failed. */
    public String command() {
        return command;
    }

    /** Arguments sent with the command, or null if it had none. */
    public JsonNode arguments() {
        return arguments;
    }
}
