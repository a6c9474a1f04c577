package io.vmmig.nbd.server;

import java.util.List;

/**
 * What the handshake settled for the transmission phase.
 *
 * @param export            the export chosen by GO or EXPORT_NAME
 * @param structuredReplies NBD_OPT_STRUCTURED_REPLY was acknowledged
 * @param contexts          metadata contexts selected for this export (empty: no BLOCK_STATUS)
 * @param transmissionFlags flags sent to the client
 */
record NegotiatedSession(NbdExport export, boolean structuredReplies, List<SelectedContext> contexts,
                         int transmissionFlags) {}
