package io.vmmig.nbd.server;

import io.vmmig.nbd.backend.BackendCapabilities;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.protocol.NbdCommand;

import java.util.List;
import java.util.Objects;

/**
 * One named export of an {@link NbdServer}. The server does not own the backend: close it yourself
 * after closing the server.
 *
 * @param name        export name clients ask for ("" is the default export)
 * @param description free text sent with NBD_INFO_DESCRIPTION ("" for none)
 * @param backend     the storage
 * @param contexts    metadata contexts clients may select
 */
public record NbdExport(String name, String description, BlockBackend backend, List<MetaContext> contexts) {
    public NbdExport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(backend, "backend");
        description = description == null ? "" : description;
        contexts = List.copyOf(contexts);
    }

    /** An export offering {@code base:allocation}. */
    public NbdExport(String name, String description, BlockBackend backend) {
        this(name, description, backend, List.of(BaseAllocationContext.INSTANCE));
    }

    /** Transmission flags for a client that did (or did not) negotiate structured replies. */
    public int transmissionFlags(boolean structured) {
        BackendCapabilities c = backend.capabilities();
        int f = NbdCommand.TX_HAS_FLAGS | NbdCommand.TX_SEND_CACHE;
        if (backend.readOnly()) {
            f |= NbdCommand.TX_READ_ONLY;
        } else {
            f |= NbdCommand.TX_SEND_WRITE_ZEROES;
            if (c.trim()) f |= NbdCommand.TX_SEND_TRIM;
            if (c.fastZero()) f |= NbdCommand.TX_SEND_FAST_ZERO;
            if (c.fua()) f |= NbdCommand.TX_SEND_FUA;
        }
        if (c.flush()) f |= NbdCommand.TX_SEND_FLUSH;
        if (c.multiConn()) f |= NbdCommand.TX_CAN_MULTI_CONN;
        if (structured) f |= NbdCommand.TX_SEND_DF;
        return f;
    }
}
