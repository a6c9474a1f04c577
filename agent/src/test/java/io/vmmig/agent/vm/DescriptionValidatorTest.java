package io.vmmig.agent.vm;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.vmmig.agent.config.QemuPolicy;
import io.vmmig.agent.control.ErrorKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The destination's allow-list: what passes, and each refusal naming its field and why. */
class DescriptionValidatorTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path boot;
    Path vms;
    QemuPolicy policy;

    @BeforeEach
    void dirs() throws Exception {
        boot = Files.createDirectories(tmp.resolve("boot"));
        vms = Files.createDirectories(tmp.resolve("vms/web1"));
        Files.writeString(boot.resolve("vmlinuz"), "kernel");
        Files.writeString(boot.resolve("initrd.gz"), "initrd");
        policy = new QemuPolicy(List.of(boot), List.of(tmp.resolve("vms")), List.of("vnet*", "tap0"), null);
    }

    /** A full description of the kind the testkit guest and hand-written command lines make. */
    ObjectNode good() throws Exception {
        return (ObjectNode) JSON.readTree(("""
                {"schema":1,"name":"web1","machine":{"type":"pc","props":{"usb":"off"}},"accel":{"type":"tcg","props":{"thread":"multi"}},
                 "cpu":{"model":"max","flags":["+x2apic","pmu=off"]},"smp":{"cpus":2,"sockets":1,"cores":2,"threads":1},
                 "memory":{"sizeMib":256},"boot":{"kernel":"BOOT/vmlinuz","initrd":"BOOT/initrd.gz","append":"console=ttyS0 quiet",
                 "options":{"strict":"on"}},"rtc":{"base":"utc"},"flags":["nodefaults","no-user-config","no-reboot"],"display":"none",
                 "objects":[{"qomType":"rng-random","id":"rng0","props":{"filename":"/dev/urandom"}},{"qomType":"memory-backend-ram","id":"ram0","props":{"size":"256M"}}],
                 "chardevs":[{"id":"ser0","backend":"socket","path":"VMS/serial.sock"},
                             {"id":"mon0","backend":"socket","path":"VMS/qmp.sock","server":true,"wait":false},
                             {"id":"log0","backend":"file","path":"VMS/console.log"},{"id":"p0","backend":"pty"}],
                 "monitors":[{"chardev":"mon0","mode":"control"}],"serials":["ser0"],
                 "netdevs":[{"id":"n0","type":"tap","ifname":"vnet3","vhost":true},{"id":"n1","type":"user"}],
                 "devices":[{"driver":"virtio-net-pci","id":"net0","props":{"netdev":"n0","mac":"52:54:00:12:34:56","addr":"0x3"}},
                            {"driver":"e1000","props":{"netdev":"n1","romfile":""}},
                            {"driver":"virtio-rng-pci","props":{"rng":"rng0"}},
                            {"driver":"virtio-serial-pci","id":"vs0"},{"driver":"virtconsole","props":{"chardev":"p0"}},
                            {"driver":"virtio-blk-pci","id":"vda","props":{"drive":"disk0","bootindex":1,"share-rw":false}}],
                 "disks":[{"node":"disk0","format":"qcow2","virtualSize":67108864,"image":"/var/lib/vms/web1.qcow2"}]}
                """).replace("BOOT", boot.toString()).replace("VMS", vms.toString()));
    }

    void check(JsonNode json) throws RefusedDescriptionException {
        new DescriptionValidator(policy).check(VmDescription.read(json), java.util.List.of("disk0"), java.util.List.of("qcow2"));
    }

    /** {@code change} applied to a good description is refused naming {@code field}; the reason holds {@code why}. */
    void refused(String field, String why, Consumer<ObjectNode> change) throws Exception {
        ObjectNode d = good();
        change.accept(d);
        RefusedDescriptionException e = assertThrows(RefusedDescriptionException.class, () -> check(d), field);
        assertEquals(ErrorKind.REFUSED, e.kind());
        assertEquals(field, e.option(), e.getMessage());
        assertTrue(e.getMessage().contains(why), e.getMessage());
        assertTrue(e.getMessage().startsWith("the destination refused the VM description: " + field + ": "), e.getMessage());
    }

    static ObjectNode at(ObjectNode d, String list, int i) {
        return (ObjectNode) d.withArray(list).get(i);
    }

    @Test
    void aTypicalDescriptionPasses() throws Exception {
        assertDoesNotThrow(() -> check(good()));
        assertDoesNotThrow(() -> check(Descriptions.minimal("disk0").toJson()));
    }

    @Test
    void optionsThatRunAProgramAreRefused() throws Exception {
        refused("netdevs[0].script", "runs a program", d -> at(d, "netdevs", 0).put("script", "/etc/qemu-ifup"));
        refused("netdevs[0].downscript", "runs a program", d -> at(d, "netdevs", 0).put("downscript", "/x"));
        refused("netdevs[0].helper", "runs a program", d -> at(d, "netdevs", 0).put("helper", "/usr/lib/qemu/qemu-bridge-helper"));
        refused("netdevs[0].type", "qemu-bridge-helper", d -> at(d, "netdevs", 0).put("type", "bridge").remove("ifname"));
        refused("chardevs[0].backend", "not an allowed chardev backend", d -> at(d, "chardevs", 0).put("backend", "exec"));
        refused("netdevs[1].type", "not an allowed netdev type", d -> at(d, "netdevs", 1).put("type", "vde"));
    }

    @Test
    void hostPathsOutsideTheAllowedDirectoriesAreRefused() throws Exception {
        refused("chardevs[2].path", "outside this host's allowed.chardev-dirs", d -> at(d, "chardevs", 2).put("path", "/etc/shadow"));
        refused("chardevs[0].path", "outside this host's allowed.chardev-dirs", d -> at(d, "chardevs", 0).put("path", tmp + "/serial.sock"));
        refused("chardevs[0].path", "not an absolute normalised path",
                d -> at(d, "chardevs", 0).put("path", vms + "/../../../../etc/x.sock"));
        refused("chardevs[0].path", "comma", d -> at(d, "chardevs", 0).put("path", vms + "/a,server=on"));
        refused("boot.kernel", "outside this host's allowed.kernel-dirs", d -> ((ObjectNode) d.get("boot")).put("kernel", "/etc/passwd"));
        refused("boot.initrd", "does not exist", d -> ((ObjectNode) d.get("boot")).put("initrd", boot + "/missing"));
        refused("objects[0].props.filename", "only", d -> ((ObjectNode) at(d, "objects", 0).get("props")).put("filename", "/etc/shadow"));
        refused("devices[1].props.romfile", "opens a host path", d -> ((ObjectNode) at(d, "devices", 1).get("props")).put("romfile", "x.rom"));
        refused("devices[1].props.romfile", "opens a host path", d -> ((ObjectNode) at(d, "devices", 1).get("props")).put("romfile", -1));
    }

    @Test
    void aSymbolicLinkOutOfAnAllowedDirectoryIsRefused() throws Exception {
        Files.createSymbolicLink(boot.resolve("evil"), Path.of("/etc/passwd"));
        refused("boot.kernel", "outside this host's allowed.kernel-dirs", d -> ((ObjectNode) d.get("boot")).put("kernel", boot + "/evil"));
        Files.createSymbolicLink(vms.resolve("link.log"), Path.of("/etc/motd"));
        refused("chardevs[2].path", "symbolic link", d -> at(d, "chardevs", 2).put("path", vms + "/link.log"));
        Files.createSymbolicLink(vms.resolve("outdir"), Path.of("/etc"));
        refused("chardevs[2].path", "outside", d -> at(d, "chardevs", 2).put("path", vms + "/outdir/motd"));
    }

    @Test
    void memoryBackendsOtherThanRamFdsAndPluginsAreRefused() throws Exception {
        refused("objects[1].qomType", "ram only", d -> at(d, "objects", 1).put("qomType", "memory-backend-file"));
        refused("objects[1].props.mem-path", "opens a host path",
                d -> ((ObjectNode) at(d, "objects", 1).get("props")).put("mem-path", "/dev/shm/x"));
        refused("memory.memPath", "opens a host path", d -> ((ObjectNode) d.get("memory")).put("memPath", "/dev/hugepages"));
        refused("add-fd", "passes file descriptors", d -> d.putObject("add-fd").put("fd", 3).put("set", 1));
        refused("netdevs[0].fd", "passes file descriptors", d -> at(d, "netdevs", 0).put("fd", "3"));
        refused("plugin", "loads code", d -> d.putObject("plugin").put("file", "/tmp/libevil.so"));
        refused("objects[0].qomType", "not an allowed object type", d -> at(d, "objects", 0).put("qomType", "secret"));
    }

    @Test
    void devicesOutsideTheAllowListAreRefused() throws Exception {
        refused("devices[0].driver", "not an allowed device driver", d -> at(d, "devices", 0).put("driver", "vfio-pci"));
        refused("devices[0].props.host", "not an allowed property", d -> ((ObjectNode) at(d, "devices", 0).get("props")).put("host", "01:00.0"));
        refused("devices[0].props.mac", "not a plain value", d -> ((ObjectNode) at(d, "devices", 0).get("props")).put("mac", "x,romfile=/etc/x"));
        refused("devices[0].props.netdev", "names no netdev", d -> ((ObjectNode) at(d, "devices", 0).get("props")).put("netdev", "n9"));
        refused("devices[1].props.netdev", "not a string, number or boolean",
                d -> ((ObjectNode) at(d, "devices", 1).get("props")).putObject("netdev").put("x", 1));
        refused("devices[2].props.drive", "cannot hold the migrated disk", d -> ((ObjectNode) at(d, "devices", 2).get("props")).put("drive", "disk0"));
        refused("disks", "no device uses disk", d -> d.withArray("devices").remove(5));
        refused("devices[5].id", "defined twice", d -> at(d, "devices", 5).put("id", "net0"));
    }

    @Test
    void networksAndConsolesOutsideThePolicyAreRefused() throws Exception {
        refused("netdevs[0].ifname", "not in this host's allowed.taps", d -> at(d, "netdevs", 0).put("ifname", "eth0"));
        refused("netdevs[0].ifname", "does not match", d -> at(d, "netdevs", 0).put("ifname", "vnet0;reboot"));
        refused("monitors[0].chardev", "names no chardev", d -> at(d, "monitors", 0).put("chardev", "nope"));
        refused("monitors[0].mode", "not one of", d -> at(d, "monitors", 0).put("mode", "raw"));
        refused("serials[0]", "names no chardev", d -> d.withArray("serials").set(0, TextNode.valueOf("ser9")));
        refused("display", "only none", d -> d.put("display", "vnc"));
    }

    @Test
    void theDiskMustBeThePreparedOne() throws Exception {
        refused("disks[0].node", "not the prepared disk node", d -> at(d, "disks", 0).put("node", "disk1"));
        refused("disks[0].format", "not the prepared format", d -> at(d, "disks", 0).put("format", "vmdk"));
        refused("disks", "but the prepare moves 1", d -> d.withArray("disks").add(at(d, "disks", 0).deepCopy()));
        refused("disks", "no disk", d -> d.remove("disks"));
        RefusedDescriptionException f = assertThrows(RefusedDescriptionException.class,
                () -> new DescriptionValidator(policy).check(VmDescription.read(good()), java.util.List.of("disk0"), java.util.List.of("vvfat")));
        assertEquals("disks[0].format", f.option(), f.getMessage());
    }

    @Test
    void sizesAreBounded() throws Exception {
        refused("memory.sizeMib", "outside", d -> ((ObjectNode) d.get("memory")).put("sizeMib", -1));
        refused("smp.cpus", "outside", d -> ((ObjectNode) d.get("smp")).put("cpus", 100000));
        refused("memory.sizeMib", "bad value", d -> ((ObjectNode) d.get("memory")).put("sizeMib", "lots"));
        refused("boot.append", "control characters", d -> ((ObjectNode) d.get("boot")).put("append", "a\nb"));
        refused("devices", "more than", d -> {
            ArrayNode devs = d.withArray("devices");
            for (int i = 0; i < 200; i++) devs.addObject().put("driver", "pvpanic");
        });
    }

    @Test
    void garbageSchemaAndOversizeAreRefusedBeforeAnyField() throws Exception {
        for (JsonNode garbage : List.of(TextNode.valueOf("-netdev tap,script=/x"), JSON.readTree("[1,2]"), JSON.readTree("null"))) {
            RefusedDescriptionException e = assertThrows(RefusedDescriptionException.class, () -> check(garbage));
            assertEquals("description", e.option());
        }
        RefusedDescriptionException none = assertThrows(RefusedDescriptionException.class, () -> check(null));
        assertEquals("description", none.option());
        refused("schema", "schema 1, got 2", d -> d.put("schema", 2));
        refused("schema", "got none", d -> d.remove("schema"));
        refused("description", "more than the 65536", d -> d.put("name", "x".repeat(70_000)));
    }

    @Test
    void theReaderRoundTripsWhatTheSourceWrites() throws Exception {
        VmDescription d = VmDescription.read(good());
        assertEquals(d, VmDescription.read(d.toJson()));
        assertFalse(d.toJson().toString().contains("null"), "null fields are left out: " + d.toJson());
        assertTrue(d.toJson().toString().contains("\"wait\":false"), d.toJson().toString());
    }

    @Test
    void aMemorySizeInKibIsKeptExactlyAndChecked() throws Exception {
        ObjectNode kib = good();
        ObjectNode m = (ObjectNode) kib.get("memory");
        m.remove("sizeMib");
        m.put("sizeKib", 262152);
        VmDescription d = VmDescription.read(kib);
        assertDoesNotThrow(() -> check(kib));
        assertEquals("262152K", d.memory().qemuSize());
        assertEquals(d, VmDescription.read(d.toJson()), "sizeKib round-trips");
        refused("memory.sizeKib", "given together with memory.sizeMib", x -> ((ObjectNode) x.get("memory")).put("sizeKib", 262152));
        refused("memory.sizeKib", "not a multiple of 4", x -> {
            ((ObjectNode) x.get("memory")).remove("sizeMib");
            ((ObjectNode) x.get("memory")).put("sizeKib", 262150);
        });
        refused("memory.sizeMib", "missing", x -> ((ObjectNode) x.get("memory")).remove("sizeMib"));
    }
}
