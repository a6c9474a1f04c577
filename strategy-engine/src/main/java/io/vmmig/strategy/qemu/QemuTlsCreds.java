package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.ObjectAddTlsCredsX509;
import io.vmmig.qmp.command.QmpCommands.ObjectDel;
import java.nio.file.Path;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@code tls-creds-x509} object in one QEMU, for its streams to or from the other host: the memory
 * migration ({@code migrate-set-parameters tls-creds}) and the mirror's NBD connection
 * ({@code nbd-server-start tls-creds} at the destination, the NBD client node's {@code tls-creds} at the
 * source). Always {@code verify-peer}: a server asks for the client's certificate and checks it against the
 * CA, a client checks the server's certificate against the CA and the host name it is given
 * ({@link StreamTls#hostname()}). QEMU reads the PEM files of the directory when the object is created
 * (QEMU 7.2: {@code ca-cert.pem}, {@code server-cert.pem} + {@code server-key.pem} or
 * {@code client-cert.pem} + {@code client-key.pem}), so the directory may be removed right after {@link #add}.
 */
public final class QemuTlsCreds implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QemuTlsCreds.class);

    /** Which side of the TLS handshake this QEMU is. */
    public enum Endpoint {
        /** The destination: its incoming migration and its NBD server. */
        SERVER,
        /** The source: its outgoing migration and its NBD client node. */
        CLIENT;

        String qemuName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final QmpClient qmp;
    private final String id;
    private final Endpoint endpoint;
    private boolean deleted;

    private QemuTlsCreds(QmpClient qmp, String id, Endpoint endpoint) {
        this.qmp = qmp;
        this.id = id;
        this.endpoint = endpoint;
    }

    /** {@code object-add} of the credentials {@code id} from the PEM files in {@code dir}; QEMU's refusal is thrown. */
    public static QemuTlsCreds add(QmpClient qmp, String id, Endpoint endpoint, Path dir) {
        qmp.call(new ObjectAddTlsCredsX509(id, dir.toString(), endpoint.qemuName(), true));
        return new QemuTlsCreds(qmp, id, endpoint);
    }

    /** The object's id, for {@code tls-creds}. */
    public String id() {
        return id;
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    /** {@code object-del}; best effort (QEMU may have quit). Delete what uses the object first. Idempotent. */
    @Override
    public synchronized void close() {
        if (deleted) return;
        deleted = true;
        try {
            qmp.call(new ObjectDel(id));
        } catch (RuntimeException e) {
            LOG.debug("object-del {}: {}", id, e.toString());
        }
    }
}
