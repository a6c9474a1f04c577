package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.peer.PeerConnector;
import io.vmmig.agent.peer.PeerTls;
import io.vmmig.agent.peer.PeerTransportOptions;
import io.vmmig.agent.session.ControlLink;
import io.vmmig.agent.session.PeerMessage;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A source holding a valid certificate (host-a's, from the agents' CA) sends a real destination agent,
 * over the real peer transport, PREPAREs whose VM descriptions carry what a real source never sends:
 * a tap with {@code script=}, a file chardev outside the allowed directories, a file memory backend,
 * {@code -add-fd}, a plugin, an unknown device, an oversized and a garbage description. Each is
 * refused with the option named, and canaries prove nothing ran or was opened: the script would touch
 * a file, the paths must not exist afterwards, and the destination's QEMU binary is a wrapper that
 * records every start (it must record none). Last, a real source agent and the real CLI: a VM whose
 * console file is outside the destination's allowed directories gets exit code 10 naming the field,
 * and keeps running.
 */
class HostileSourceIT {
    @TempDir
    static Path dir;
    static TestPki pki;
    static AgentHosts hosts;
    static Path qemuStarts;
    static Path canary;

    @BeforeAll
    static void agents() throws Exception {
        pki = AgentHosts.pki(dir);
        qemuStarts = dir.resolve("qemu-starts.log");
        canary = dir.resolve("canary");
        Path wrapper = dir.resolve("qemu-system-recording");
        Files.writeString(wrapper, "#!/bin/sh\necho \"$@\" >> " + qemuStarts + "\nexec qemu-system-x86_64 \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
        hosts = AgentHosts.start(dir, pki, List.of(), List.of("qemu = " + wrapper, "allowed.taps = vnet*"));
    }

    @AfterAll
    static void stop() {
        if (hosts != null) hosts.close();
    }

    /** Sends a PREPARE with {@code description} as host-a would; returns the destination's FAILED. */
    static AgentException prepare(String id, JsonNode description) throws Exception {
        PeerTls asA = PeerTls.client(pki.key("host-a"), pki.cert("host-a"), pki.cert("ca"));
        try (PeerConnector a = PeerConnector.tls(asA, PeerTransportOptions.DEFAULT);
             ControlLink link = new ControlLink(a.connect("127.0.0.1", hosts.b.port, "", new byte[0], Duration.ofSeconds(30)))) {
            link.send(new PeerMessage.Prepare(id, "hybrid", 256 << 10,
                    java.util.List.of(new PeerMessage.Disk("disk0", "qcow2", 64L << 20, 1L << 20, null, id + ".qcow2")), null, description, "hostile", "7.2.0"));
            return assertThrows(AgentException.class, () -> link.expect(PeerMessage.Prepared.class, Duration.ofSeconds(60)),
                    "the destination must refuse " + description);
        }
    }

    /** A hostile change of a valid description: refused with {@code field} named, nothing created or started. */
    static void refused(String id, String field, String why, Consumer<ObjectNode> change) throws Exception {
        ObjectNode d = Descriptions.minimalJson("disk0");
        change.accept(d);
        assertRefused(id, field, why, d);
    }

    static void assertRefused(String id, String field, String why, JsonNode d) throws Exception {
        AgentException e = prepare(id, d);
        assertEquals(ErrorKind.REFUSED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("the destination refused the VM description: " + field + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(why), e.getMessage());
        assertNothingHappened(id);
    }

    static void assertNothingHappened(String id) throws Exception {
        assertFalse(Files.exists(qemuStarts), () -> "the destination started QEMU: " + read(qemuStarts));
        assertFalse(Files.exists(canary), "the canary script ran");
        assertFalse(Files.exists(dir.resolve("b/state/m").resolve(id)), "no migration directory at the destination");
        try (Stream<Path> images = Files.list(hosts.imagesOf(hosts.b))) {
            assertEquals(List.of(), images.toList(), "no image at the destination");
        }
        Cli.Result status = Cli.run(hosts.b.controlSocket, List.of("status", id, "--json"));
        ControlEvent.Status st = assertInstanceOf(ControlEvent.Status.class, status.events().get(0), status.stdout().toString());
        assertEquals("destination", st.migration().role());
        assertEquals(io.vmmig.agent.control.MigrationPhase.FAILED, st.migration().phase());
    }

    @Test
    void aTapScriptIsRefusedAndNeverRuns() throws Exception {
        Path script = dir.resolve("ifup.sh");
        Files.writeString(script, "#!/bin/sh\ntouch " + canary + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        refused("m-hostile01", "netdevs[0].script", "runs a program", d -> {
            d.withArray("netdevs").addObject().put("id", "n0").put("type", "tap").put("ifname", "vnet7").put("script", script.toString());
            d.withArray("devices").addObject().put("driver", "virtio-net-pci").putObject("props").put("netdev", "n0");
        });
        refused("m-hostile02", "netdevs[0].type", "qemu-bridge-helper", d -> d.withArray("netdevs").addObject().put("id", "n0")
                .put("type", "bridge").put("bridge", "br0"));
    }

    @Test
    void aFileChardevOutsideTheAllowedDirectoriesIsRefusedAndNotCreated() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Path file = outside.resolve("stolen.log");
        refused("m-hostile03", "chardevs[0].path", "outside this host's allowed.chardev-dirs", d -> {
            d.withArray("chardevs").addObject().put("id", "c0").put("backend", "file").put("path", file.toString());
            d.withArray("serials").add("c0");
        });
        refused("m-hostile04", "chardevs[0].path", "outside", d -> d.withArray("chardevs").addObject().put("id", "c0")
                .put("backend", "file").put("path", "/etc/shadow"));
        refused("m-hostile05", "chardevs[0].backend", "not an allowed chardev backend", d -> d.withArray("chardevs").addObject()
                .put("id", "c0").put("backend", "exec").put("path", "/bin/sh"));
        assertFalse(Files.exists(file), "the file chardev's path was never opened");
    }

    @Test
    void aFileMemoryBackendIsRefusedAndNotCreated() throws Exception {
        Path memFile = dir.resolve("guest-ram");
        refused("m-hostile06", "objects[0].qomType", "ram only", d -> {
            ObjectNode o = d.withArray("objects").addObject().put("qomType", "memory-backend-file").put("id", "mem0");
            o.putObject("props").put("mem-path", memFile.toString()).put("size", "128M").put("share", "on");
        });
        refused("m-hostile07", "objects[0].props.mem-path", "opens a host path", d -> d.withArray("objects").addObject()
                .put("qomType", "memory-backend-ram").put("id", "mem0").putObject("props").put("mem-path", memFile.toString()));
        refused("m-hostile08", "memory.memPath", "opens a host path", d -> ((ObjectNode) d.get("memory")).put("memPath", memFile.toString()));
        assertFalse(Files.exists(memFile), "the memory backend's file was never created");
    }

    @Test
    void addFdAndPluginsAreRefused() throws Exception {
        refused("m-hostile09", "add-fd", "passes file descriptors", d -> d.putObject("add-fd").put("fd", 0).put("set", 1));
        Path plugin = dir.resolve("libcanary.so");
        refused("m-hostile10", "plugin", "loads code", d -> d.putObject("plugin").put("file", plugin.toString()));
        refused("m-hostile11", "devices[0].props.romfile", "opens a host path",
                d -> ((ObjectNode) d.withArray("devices").get(0).get("props")).put("romfile", "/etc/shadow"));
    }

    @Test
    void anUnknownDeviceIsRefused() throws Exception {
        refused("m-hostile12", "devices[1].driver", "not an allowed device driver", d -> d.withArray("devices").addObject()
                .put("driver", "vfio-pci").putObject("props").put("host", "0000:01:00.0"));
    }

    @Test
    void oversizedAndGarbageDescriptionsAreRefused() throws Exception {
        refused("m-hostile13", "description", "more than the 65536", d -> d.put("name", "x".repeat(100_000)));
        assertRefused("m-hostile14", "description", "not a JSON object", TextNode.valueOf("-netdev tap,script=" + dir + "/ifup.sh"));
        refused("m-hostile15", "schema", "schema 1, got 99", d -> d.put("schema", 99));
        refused("m-hostile16", "memory.sizeMib", "bad value", d -> ((ObjectNode) d.get("memory")).putArray("sizeMib").add(1));
        AgentException none = prepare("m-hostile17", null);
        assertEquals(ErrorKind.REFUSED, none.kind(), none.getMessage());
        assertTrue(none.getMessage().contains("description: missing"), none.getMessage());
        assertNothingHappened("m-hostile17");
    }

    /**
     * A real source agent and the real CLI: the VM's console file is outside the destination's
     * allowed.chardev-dirs. The CLI exits with REFUSED's code naming the field; the VM keeps running.
     */
    @Test
    void theSourcesCliShowsTheRefusal() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("a-only"));
        DiskImage disk = DiskImage.create(dir.resolve("refused.qcow2"), DiskImage.Format.QCOW2, 16L << 20);
        List<String> extra = new ArrayList<>(disk.qemuArgs());
        extra.addAll(List.of("-chardev", "file,id=log0,path=" + outside.resolve("console.log"), "-device", "isa-serial,chardev=log0"));
        try (QemuProcess vm = QemuProcess.builder().name("refused").memoryMb(64).extraArgs(extra).start()) {
            Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(), "--json"));
            assertEquals(ErrorKind.REFUSED.exitCode, r.exitCode(), r.stdout() + r.stderr());
            ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, r.events().get(r.events().size() - 1));
            assertEquals(ErrorKind.REFUSED, f.kind());
            assertTrue(f.message().contains("the destination refused the VM description: chardevs[") && f.message().contains("].path: '"
                    + outside.resolve("console.log") + "' (a file) is outside this host's allowed.chardev-dirs"), f.message());
            assertTrue(vm.isAlive(), "the VM keeps running at the source");
            assertFalse(Files.exists(qemuStarts), () -> "the destination started QEMU: " + read(qemuStarts));
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "(" + e + ")";
        }
    }
}
