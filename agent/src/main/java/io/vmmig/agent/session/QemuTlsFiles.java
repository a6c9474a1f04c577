package io.vmmig.agent.session;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpExecuteException;
import io.vmmig.strategy.qemu.QemuTlsCreds;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * This agent's certificate, key and CA ({@code tls.cert}, {@code tls.key}, {@code tls.ca}) under the names
 * QEMU's {@code tls-creds-x509} reads: {@code ca-cert.pem}, {@code server-cert.pem} + {@code server-key.pem},
 * {@code client-cert.pem} + {@code client-key.pem} (the same certificate serves both ends, so it must allow
 * both TLS web server and client authentication when it has an extended key usage). Copies, not links, in
 * a directory of the migration's work dir (mode 0700, keys 0600), which lives only while QEMU loads them:
 * {@link #install} removes it once the credentials object exists.
 */
final class QemuTlsFiles {
    static final String DIR = "qemu-tls";

    private QemuTlsFiles() {
    }

    /** The id of a migration's credentials object in its QEMUs. */
    static String credsId(String migrationId) {
        return "vmmig-tls-" + migrationId;
    }

    /**
     * Lays the files out in {@code workDir/qemu-tls}, adds the credentials object {@link #credsId} to the
     * QEMU of {@code qmp}, and removes the files again (also when QEMU refuses them).
     */
    static QemuTlsCreds install(AgentConfig config, QmpClient qmp, String migrationId, QemuTlsCreds.Endpoint endpoint,
                                Path workDir) throws AgentException {
        return install(config, qmp, migrationId, endpoint, workDir, null);
    }

    /** Same, the files handed to {@code owner} (QEMU's {@code qemu.runas} user: QEMU reads them as that user), unless null. */
    static QemuTlsCreds install(AgentConfig config, QmpClient qmp, String migrationId, QemuTlsCreds.Endpoint endpoint,
                                Path workDir, String owner) throws AgentException {
        Path dir = workDir.resolve(DIR);
        try {
            write(config, dir);
            if (owner != null) handOver(dir, owner);
            return QemuTlsCreds.add(qmp, credsId(migrationId), endpoint, dir);
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot lay out QEMU's TLS files in " + dir + ": " + e.getMessage(), e);
        } catch (QmpExecuteException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "QEMU refused this agent's TLS files for its streams (tls.cert "
                    + config.tlsCert() + ", tls.key " + config.tlsKey() + ", tls.ca " + config.tlsCa() + "): " + e.description(), e);
        } finally {
            remove(dir);
        }
    }

    /** Writes the five files into {@code dir} (made afresh, 0700). */
    static void write(AgentConfig config, Path dir) throws IOException {
        remove(dir);
        Files.createDirectories(dir.getParent());
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        byte[] ca = Files.readAllBytes(config.tlsCa());
        byte[] cert = Files.readAllBytes(config.tlsCert());
        byte[] key = Files.readAllBytes(config.tlsKey());
        copy(dir.resolve("ca-cert.pem"), ca, "rw-r--r--");
        for (String end : List.of("server", "client")) {
            copy(dir.resolve(end + "-cert.pem"), cert, "rw-r--r--");
            copy(dir.resolve(end + "-key.pem"), key, "rw-------");
        }
    }

    private static void handOver(Path dir, String user) throws IOException {
        var who = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(user);
        Files.setOwner(dir, who);
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.setOwner(f, who);
        }
    }

    private static void copy(Path file, byte[] content, String mode) throws IOException {
        // created with its mode: a key is never readable by others, not even for an instant
        Files.write(Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode))),
                content, StandardOpenOption.WRITE);
    }

    /** Deletes {@code dir} and the files in it; best effort. */
    static void remove(Path dir) {
        if (!Files.isDirectory(dir)) return;
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.deleteIfExists(f);
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // left for the operator; it holds only what tls.* already hold
        }
    }
}
