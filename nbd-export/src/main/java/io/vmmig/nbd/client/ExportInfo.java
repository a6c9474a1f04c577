package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;

import java.util.Map;

/**
 * What the server told about an export during NBD_OPT_GO/INFO: size, transmission flags, block size
 * constraints (0 when not sent), and the meta contexts it accepted (name to the id it assigned).
 */
public record ExportInfo(String name, String description, long size, int transmissionFlags,
                         int minimumBlockSize, int preferredBlockSize, int maximumBlockSize,
                         boolean structuredReplies, Map<String, Integer> metaContexts) {

    public ExportInfo {
        metaContexts = Map.copyOf(metaContexts);
    }

    public boolean has(int transmissionFlag) {
        return (transmissionFlags & transmissionFlag) != 0;
    }

    public boolean readOnly() {
        return has(NbdCommand.TX_READ_ONLY);
    }

    /** @return the largest READ/WRITE payload to send: the advertised maximum, or the protocol default 32 MiB. */
    public int effectiveMaximumBlockSize() {
        return maximumBlockSize > 0 ? maximumBlockSize : 32 << 20;
    }
}
