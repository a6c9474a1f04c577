package io.vmmig.qmp.command;

import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.type.TypeFactory;

/**
 * A typed QMP command. By default the implementing record itself is serialized as the {@code arguments}.
 *
 * @param <R> type of the decoded {@code return} value ({@link Void} for {@code {}})
 */
public interface QmpCommand<R> {
    /** The QMP command name, e.g. {@code blockdev-add}. */
    String commandName();

    /** The reply type. */
    JavaType resultType(TypeFactory types);

    /** The arguments object (a record, map or JSON object), or null to send none. */
    default Object arguments() {
        return this;
    }
}
