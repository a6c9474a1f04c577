package io.vmmig.agent.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vmmig.agent.config.AgentConfig;
import io.vmmig.strategy.qemu.StreamTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QemuTlsFilesTest {
    @TempDir
    Path tmp;

    private AgentConfig config(boolean insecure) throws Exception {
        Path pki = Files.createDirectories(tmp.resolve("pki"));
        Files.writeString(pki.resolve("ca.pem"), "CA\n");
        Files.writeString(pki.resolve("cert.pem"), "CERT\n");
        Files.writeString(pki.resolve("key.pem"), "KEY\n");
        return AgentConfig.builder()
                .listenHost("127.0.0.1")
                .listenPort(0)
                .migrationHost("127.0.0.1")
                .tlsKey(pki.resolve("key.pem"))
                .tlsCert(pki.resolve("cert.pem"))
                .tlsCa(pki.resolve("ca.pem"))
                .allowedClients(Set.of())
                .insecure(insecure)
                .stateDir(tmp.resolve("state"))
                .controlSocket(tmp.resolve("control.sock"))
                .imageDirs(List.of(tmp.resolve("images")))
                .qemuBinary("qemu-system-x86_64")
                .vms(Map.of())
                .timeout(Duration.ofSeconds(5))
                .tokenTtl(Duration.ofSeconds(5))
                .pullBandwidth(0)
                .logLevel(io.vmmig.agent.config.LogLevel.INFO)
                .qemuStreamsTls(true)
                .build();
    }

    @Test
    void theAgentsFilesUnderQemusNamesWithPrivateKeys() throws Exception {
        AgentConfig c = config(false);
        Path dir = tmp.resolve("state/m/m-1/" + QemuTlsFiles.DIR);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("stale"), "left by a crash");   // made afresh
        QemuTlsFiles.write(c, dir);
        try (var files = Files.list(dir)) {
            assertEquals(Set.of("ca-cert.pem", "server-cert.pem", "server-key.pem", "client-cert.pem", "client-key.pem"),
                    Set.copyOf(files.map(p -> p.getFileName().toString()).toList()));
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        for (String key : List.of("server-key.pem", "client-key.pem")) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(key))), key);
            assertArrayEquals(Files.readAllBytes(c.tlsKey()), Files.readAllBytes(dir.resolve(key)));
        }
        assertArrayEquals(Files.readAllBytes(c.tlsCert()), Files.readAllBytes(dir.resolve("server-cert.pem")));
        assertArrayEquals(Files.readAllBytes(c.tlsCert()), Files.readAllBytes(dir.resolve("client-cert.pem")));
        assertArrayEquals(Files.readAllBytes(c.tlsCa()), Files.readAllBytes(dir.resolve("ca-cert.pem")));
        QemuTlsFiles.remove(dir);
        assertFalse(Files.exists(dir));
        assertTrue(Files.exists(c.tlsKey()), "the agent's own files are untouched");
    }

    @Test
    void onlyAgentsWithTlsHaveQemuStreamsInTls() throws Exception {
        assertTrue(config(false).qemuStreamsTls());
        assertFalse(config(true).qemuStreamsTls(), "insecure wins");
        assertEquals("vmmig-tls-m-1", QemuTlsFiles.credsId("m-1"));
    }

    @Test
    void theReportSaysHowEachStreamWent() {
        JsonNode tls = QemuStreams.of(new StreamTls("vmmig-tls-m-1", "10.0.0.2"), false).addTo(JsonNodeFactory.instance.objectNode());
        assertEquals("{\"memory\":\"tls\",\"nbd\":\"tls\",\"tlsHostname\":\"10.0.0.2\"}", tls.get("qemuStreams").toString());
        JsonNode hybrid = QemuStreams.of(null, true).addTo(JsonNodeFactory.instance.objectNode());
        assertEquals("{\"memory\":\"plain\",\"nbd\":\"none\"}", hybrid.get("qemuStreams").toString());
        assertTrue(QemuStreams.of(null, true).summaryLine().contains("memory plain TCP, disk over the agents' connection"));
    }
}
