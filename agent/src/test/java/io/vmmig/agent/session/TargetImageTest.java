package io.vmmig.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import io.vmmig.agent.vm.Descriptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a destination image may go, whether it fits, and its creation and removal with the real qemu-img. */
class TargetImageTest {
    @TempDir
    Path tmp;
    Path images;
    Path other;
    AgentConfig config;

    @BeforeEach
    void config() {
        images = tmp.resolve("images");
        other = tmp.resolve("other");
        config = AgentConfig.builder()
                .listenHost("127.0.0.1")
                .listenPort(0)
                .migrationHost("127.0.0.1")
                .allowedClients(Set.of())
                .insecure(true)
                .stateDir(tmp.resolve("state"))
                .controlSocket(tmp.resolve("control.sock"))
                .imageDirs(List.of(images, other))
                .qemuBinary("qemu-system-x86_64")
                .vms(Map.of())
                .timeout(Duration.ofSeconds(30))
                .tokenTtl(Duration.ofSeconds(30))
                .build();
    }

    private static PeerMessage.Prepare prepare(String imageName, String target, long allocated, String backing) {
        return new PeerMessage.Prepare("m-1", "hybrid", 1 << 20, java.util.List.of(new PeerMessage.Disk("disk0", "qcow2", 64L << 20, allocated, backing, imageName)), target,
                Descriptions.minimal("disk0").toJson(), "web1", "7.2.22");
    }

    private static PeerMessage.Prepare prepare(String imageName, String target) {
        return prepare(imageName, target, 1 << 20, null);
    }

    private AgentException refused(PeerMessage.Prepare p, ErrorKind kind, String... parts) {
        AgentException e = assertThrows(AgentException.class, () -> TargetImage.planAll(config, p).get(0));
        assertEquals(kind, e.kind(), e.getMessage());
        for (String part : parts) assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
        return e;
    }

    @Test
    void defaultTargetIsTheImageNameInTheFirstImageDirectory() throws Exception {
        TargetImage t = TargetImage.planAll(config, prepare("web1.qcow2", null)).get(0);
        assertEquals(images.resolve("web1.qcow2"), t.path());
        assertFalse(Files.exists(t.path()), "planning creates no image");
    }

    @Test
    void requestedTargetInAnyImageDirectoryOrBelow() throws Exception {
        assertEquals(other.resolve("x.qcow2"), TargetImage.planAll(config, prepare("web1.qcow2", other.resolve("x.qcow2").toString())).get(0).path());
        assertEquals(other.resolve("vms/web1/disk.qcow2"),
                TargetImage.planAll(config, prepare("web1.qcow2", other + "/vms/./web1/disk.qcow2")).get(0).path(), "normalized");
    }

    @Test
    void targetOutsideTheImageDirectoriesIsRefused() {
        refused(prepare("web1.qcow2", tmp.resolve("elsewhere/web1.qcow2").toString()), ErrorKind.BAD_REQUEST,
                "not in an image directory", "image-dirs", images.toString());
        refused(prepare("web1.qcow2", images + "/../state/web1.qcow2"), ErrorKind.BAD_REQUEST, "not in an image directory",
                tmp.resolve("state/web1.qcow2").toString());
        refused(prepare("web1.qcow2", images + "2/web1.qcow2"), ErrorKind.BAD_REQUEST, "not in an image directory");
        refused(prepare("web1.qcow2", images.toString()), ErrorKind.BAD_REQUEST, "not in an image directory");
        refused(prepare("web1.qcow2", "/etc/passwd"), ErrorKind.BAD_REQUEST, "not in an image directory");
        refused(prepare("web1.qcow2", "images/web1.qcow2"), ErrorKind.BAD_REQUEST, "'images/web1.qcow2' is not absolute");
    }

    @Test
    void existingFileIsNeverOverwritten() throws Exception {
        Files.createDirectories(images);
        Path existing = Files.writeString(images.resolve("web1.qcow2"), "precious");
        refused(prepare("web1.qcow2", null), ErrorKind.BAD_REQUEST, existing.toString(), "already exists", "never overwrites");
        assertEquals("precious", Files.readString(existing));
    }

    @Test
    void missingBackingFileIsRefused() throws Exception {
        String base = other.resolve("base/debian.qcow2").toString();   // in an image dir (or allowed.backing-dirs)
        refused(prepare("web1.qcow2", null, 1 << 20, base), ErrorKind.ENVIRONMENT, base, "missing at the destination");
        Files.createDirectories(other.resolve("base"));
        Files.writeString(Path.of(base), "");
        assertEquals(images.resolve("web1.qcow2"), TargetImage.planAll(config, prepare("web1.qcow2", null, 1 << 20, base)).get(0).path());
    }

    @Test
    void notEnoughSpaceIsRefused() {
        refused(prepare("web1.qcow2", null, 1L << 60, null), ErrorKind.NO_SPACE, "not enough space at the destination",
                images.toString(), "MiB free", "the disk needs", "allocated + margin");
    }

    @Test
    void badImageNames() {
        for (String name : new String[] {"../x", "a/b", "/abs.qcow2", ".", "..", ".hidden", ""})
            refused(prepare(name, null), ErrorKind.BAD_REQUEST, "bad image name '" + name + "'");
        refused(prepare(null, null), ErrorKind.BAD_REQUEST, "bad image name 'null'");
    }

    @Test
    void createdImageIsDiscardedButAForeignOneIsNot() throws Exception {
        TargetImage t = TargetImage.planAll(config, prepare("web1.qcow2", null)).get(0);
        t.create("qcow2", 64L << 20, null, null);
        JsonNode info = info(t.path());
        assertEquals("qcow2", info.path("format").asText());
        assertEquals(64L << 20, info.path("virtual-size").asLong());
        t.discard();
        assertFalse(Files.exists(t.path()));

        TargetImage notOurs = TargetImage.planAll(config, prepare("web2.qcow2", null)).get(0);
        Files.writeString(notOurs.path(), "appeared meanwhile");
        notOurs.discard();
        assertTrue(Files.exists(notOurs.path()), "only an image this agent created is removed");
    }

    @Test
    void createdOverABackingFileOfItsFormat() throws Exception {
        Path base = Files.createDirectories(other).resolve("base.raw");
        QemuImgTool.create(base, "raw", 32L << 20, null);
        assertEquals("raw", QemuImgTool.formatOf(base.toString()));
        TargetImage t = TargetImage.planAll(config, prepare("top.qcow2", null, 1 << 20, base.toString())).get(0);
        t.create("qcow2", 32L << 20, base.toString(), null);
        JsonNode info = info(t.path());
        assertEquals(base.toString(), info.path("backing-filename").asText());
        assertEquals("raw", info.path("backing-filename-format").asText());
        assertEquals("qcow2", QemuImgTool.formatOf(t.path().toString()));
    }

    @Test
    void aBackingFileOutsideTheImageAndBackingDirsIsRefused() throws Exception {
        Path outside = Files.writeString(tmp.resolve("shadow"), "secret");   // as /etc/shadow would be
        refused(prepare("top.qcow2", null, 1 << 20, outside.toString()), ErrorKind.REFUSED, outside.toString(),
                "outside this destination's image-dirs and allowed.backing-dirs");
        Path link = Files.createSymbolicLink(Files.createDirectories(other).resolve("base.raw"), outside);   // a link out of an image dir
        refused(prepare("top.qcow2", null, 1 << 20, link.toString()), ErrorKind.REFUSED, link.toString(), "(" + outside + ")");

        Path bases = Files.createDirectories(tmp.resolve("bases"));
        Path base = Files.writeString(bases.resolve("base.raw"), "");
        config = AgentConfig.builder()
                .listenHost("127.0.0.1")
                .listenPort(0)
                .migrationHost("127.0.0.1")
                .allowedClients(Set.of())
                .insecure(true)
                .stateDir(tmp.resolve("state"))
                .controlSocket(tmp.resolve("control.sock"))
                .imageDirs(List.of(images, other))
                .qemuBinary("qemu-system-x86_64")
                .vms(Map.of())
                .timeout(Duration.ofSeconds(30))
                .tokenTtl(Duration.ofSeconds(30))
                .pullBandwidth(0)
                .logLevel(io.vmmig.agent.config.LogLevel.INFO)
                .qemuPolicy(new io.vmmig.agent.config.QemuPolicy(List.of(), List.of(), List.of(), null, List.of(bases)))
                .qemuStreamsTls(true)
                .build();
        assertEquals(images.resolve("top.qcow2"), TargetImage.planAll(config, prepare("top.qcow2", null, 1 << 20, base.toString())).get(0).path(),
                "allowed.backing-dirs lets it in");
    }

    @Test
    void qemuImgFailuresAreNamed() {
        AgentException e = assertThrows(AgentException.class,
                () -> QemuImgTool.create(tmp.resolve("no/such/dir/x.qcow2"), "qcow2", 1 << 20, null));
        assertEquals(ErrorKind.ENVIRONMENT, e.kind());
        assertTrue(e.getMessage().contains("cannot create the target image " + tmp.resolve("no/such/dir/x.qcow2")), e.getMessage());
        assertTrue(e.getMessage().contains("exited with"), e.getMessage());
        AgentException info = assertThrows(AgentException.class, () -> QemuImgTool.formatOf(tmp.resolve("absent.qcow2").toString()));
        assertTrue(info.getMessage().contains("cannot read the backing image"), info.getMessage());
    }

    @Test
    void qemuVersionFromItsBinary() throws Exception {
        int[] v = QemuImgTool.version("qemu-system-x86_64");
        assertEquals(3, v.length);
        assertTrue(v[0] > 6 || (v[0] == 6 && v[1] >= 1), "this host's QEMU " + v[0] + "." + v[1] + "." + v[2]);
        AgentException silent = assertThrows(AgentException.class, () -> QemuImgTool.version("true"));
        assertEquals(ErrorKind.ENVIRONMENT, silent.kind());
        assertTrue(silent.getMessage().contains("no version in it"), silent.getMessage());
        AgentException missing = assertThrows(AgentException.class, () -> QemuImgTool.version(tmp.resolve("qemu-nowhere").toString()));
        assertEquals(ErrorKind.ENVIRONMENT, missing.kind());
        assertTrue(missing.getMessage().contains("cannot run " + tmp.resolve("qemu-nowhere")), missing.getMessage());
    }

    private static JsonNode info(Path image) throws Exception {
        Process p = new ProcessBuilder("qemu-img", "info", "--output=json", image.toString()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), new String(out));
        return ControlCodec.mapper().readTree(out);
    }

    private static PeerMessage.Prepare twoDisks(String first, String second, String target, long allocatedEach) {
        return new PeerMessage.Prepare("m-2", "hybrid", 1 << 20, List.of(
                new PeerMessage.Disk("disk0", "qcow2", 64L << 20, allocatedEach, null, first),
                new PeerMessage.Disk("disk1", "raw", 32L << 20, allocatedEach, null, second)), target,
                Descriptions.minimal("disk0").toJson(), "web1", "7.2.22");
    }

    @Test
    void everyDiskGetsItsImageUnderItsOwnName() throws Exception {
        List<TargetImage> t = TargetImage.planAll(config, twoDisks("web1.qcow2", "web1-data.raw", null, 1 << 20));
        assertEquals(List.of(images.resolve("web1.qcow2"), images.resolve("web1-data.raw")), t.stream().map(TargetImage::path).toList());
    }

    @Test
    void twoDisksOfOneNameOrOneTargetForTwoDisksAreRefused() {
        refused(twoDisks("a.qcow2", "a.qcow2", null, 1 << 20), ErrorKind.BAD_REQUEST, "two disks would both go to", "a.qcow2");
        refused(twoDisks("a.qcow2", "b.raw", images.resolve("x.qcow2").toString(), 1 << 20), ErrorKind.BAD_REQUEST,
                "a target path names one image", "2 disks");
    }

    @Test
    void theDisksMustFitTogether() throws Exception {
        long free = Files.getFileStore(Files.createDirectories(images)).getUsableSpace();
        // each alone fits, both together do not
        long each = free / 2 + (TargetImage.METADATA_MARGIN);
        refused(twoDisks("a.qcow2", "b.raw", null, each), ErrorKind.NO_SPACE, "the 2 disks need");
    }
}
