package io.vmmig.qmp.command;

import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.type.TypeFactory;

/** A command whose reply is the empty object {@code {}}. */
public interface QmpVoidCommand extends QmpCommand<Void> {
    @Override
    default JavaType resultType(TypeFactory types) {
        return types.constructType(Void.class);
    }
}
