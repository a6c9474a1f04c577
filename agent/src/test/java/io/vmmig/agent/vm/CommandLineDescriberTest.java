package io.vmmig.agent.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.vm.VmDescription.Chardev;
import io.vmmig.agent.vm.VmDescription.Device;
import io.vmmig.agent.vm.VmDescription.Monitor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The source side: command lines as the testkit, hand-written scripts and libvirt write them, read into a description. */
class CommandLineDescriberTest {
    private static final String DISK_FILE = "{\"driver\":\"file\",\"filename\":\"/var/lib/vms/web1.qcow2\",\"node-name\":\"disk0-file\"}";
    private static final String DISK = "{\"driver\":\"qcow2\",\"file\":\"disk0-file\",\"backing\":\"base\",\"node-name\":\"disk0\"}";
    private static final String BASE_FILE = "{\"driver\":\"file\",\"filename\":\"/var/lib/vms/base.qcow2\",\"node-name\":\"base-file\","
            + "\"read-only\":true}";
    private static final String BASE = "{\"driver\":\"qcow2\",\"file\":\"base-file\",\"backing\":null,\"node-name\":\"base\",\"read-only\":true}";
    private static final VmDisk DISK0 = new VmDisk("vda", "disk0", "/var/lib/vms/web1.qcow2", "qcow2", 64L << 20, 1L << 20, null);

    private static List<String> testkitLike() {
        return new ArrayList<>(List.of("/usr/bin/qemu-system-x86_64",
                "-name", "web1", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-m", "256",
                "-accel", "tcg", "-cpu", "max",
                "-qmp", "unix:/run/vms/web1/qmp.sock,server=on,wait=off",
                "-chardev", "socket,id=ser0,path=/run/vms/web1/serial.sock",
                "-serial", "chardev:ser0",
                "-kernel", "/boot/vmlinuz", "-initrd", "/boot/initrd.img", "-append", "console=ttyS0 quiet",
                "-blockdev", BASE_FILE, "-blockdev", BASE, "-blockdev", DISK_FILE, "-blockdev", DISK,
                "-device", "virtio-blk-pci,drive=disk0,id=vda",
                "-mon", "chardev=hmp0,mode=readline",
                "-chardev", "socket,id=hmp0,path=/run/vms/web1/hmp.sock,server=on,wait=off",
                "--qmp", "unix:/run/vms/web1/vmmig.sock,server,nowait",
                "-qmp-pretty", "unix:/run/vms/web1/pretty.sock,server=on,wait=off",
                "-monitor", "none",
                "-incoming", "defer", "-pidfile", "/run/vms/web1/qemu.pid", "-daemonize", "-S",
                "-netdev", "tap,id=n0,ifname=vnet3,script=no,downscript=no",
                "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56"));
    }

    @Test
    void testkitLikeCommandLine() throws Exception {
        VmDescription d = CommandLineDescriber.describe(new QemuCommandLine(1234, testkitLike()), DISK0);
        assertEquals(VmDescription.SCHEMA, d.schema());
        assertEquals("web1", d.name());
        assertEquals(256L, d.memory().sizeMib());
        assertEquals("tcg", d.accel().type());
        assertEquals("max", d.cpu().model());
        assertEquals(List.of("nodefaults", "no-user-config", "no-reboot"), d.flags());
        assertEquals("none", d.display());
        assertEquals("/boot/vmlinuz", d.boot().kernel());
        assertEquals("console=ttyS0 quiet", d.boot().append());
        assertEquals(List.of("ser0"), d.serials());
        assertTrue(d.chardevs().contains(new Chardev("ser0", "socket", "/run/vms/web1/serial.sock", null, null)), d.chardevs().toString());
        // the monitors, each on a socket chardev (the -monitor none stays behind)
        List<String> monitorPaths = d.monitors().stream()
                .map(m -> d.chardevs().stream().filter(c -> c.id().equals(m.chardev())).findFirst().orElseThrow().path()).toList();
        assertEquals(List.of("/run/vms/web1/qmp.sock", "/run/vms/web1/hmp.sock", "/run/vms/web1/vmmig.sock", "/run/vms/web1/pretty.sock"),
                monitorPaths);
        assertEquals(List.of("control", "readline", "control", "control"), d.monitors().stream().map(Monitor::mode).toList());
        assertEquals(Boolean.TRUE, d.monitors().get(3).pretty());
        Chardev vmmig = d.chardevs().stream().filter(c -> "/run/vms/web1/vmmig.sock".equals(c.path())).findFirst().orElseThrow();
        assertEquals(Boolean.TRUE, vmmig.server());
        assertEquals(Boolean.FALSE, vmmig.waitForClient(), "'nowait' is wait=off");
        assertEquals("vnet3", d.netdevs().get(0).ifname());
        assertEquals(List.of(new Device("virtio-blk-pci", "vda", Map.of("drive", "disk0")),
                new Device("virtio-net-pci", null, Map.of("netdev", "n0", "mac", "52:54:00:12:34:56"))), d.devices());
        assertEquals(List.of(new VmDescription.Disk("disk0", "qcow2", 64L << 20, "/var/lib/vms/web1.qcow2")), d.disks());
        String json = d.toJson().toString();
        for (String gone : List.of("pidfile", "qemu.pid", "incoming", "daemonize", "disk0-file", "base.qcow2", "script"))
            assertTrue(!json.contains(gone), gone + " in " + json);
    }

    @Test
    void jsonDevicesAreCreatedAfterKeyValueOnesAsQemuDoes() throws Exception {
        List<String> argv = List.of("qemu-system-x86_64", "-machine", "pc-q35-7.2,accel=tcg,usb=off", "-m", "1G",
                "-blockdev", "{\"driver\":\"file\",\"filename\":\"/v/d.raw\",\"node-name\":\"libvirt-1-storage\"}",
                "-blockdev", "{\"node-name\":\"libvirt-1-format\",\"driver\":\"raw\",\"file\":\"libvirt-1-storage\"}",
                "-device", "{\"driver\":\"virtio-blk-pci\",\"bus\":\"pci.0\",\"addr\":\"0x4\",\"drive\":\"libvirt-1-format\","
                        + "\"id\":\"virtio-disk0\",\"bootindex\":1}",
                "-device", "virtio-rng-pci,rng=rng0", "-object", "{\"qom-type\":\"rng-random\",\"id\":\"rng0\",\"filename\":\"/dev/urandom\"}");
        VmDisk disk = new VmDisk("virtio-disk0", "libvirt-1-format", "/v/d.raw", "raw", 1L << 30, 1L << 30, null);
        VmDescription d = CommandLineDescriber.describe(new QemuCommandLine(1, argv), disk);
        assertEquals("pc-q35-7.2", d.machine().type());
        assertEquals(Map.of("usb", "off"), d.machine().props());
        assertEquals("tcg", d.accel().type());
        assertEquals(1024L, d.memory().sizeMib());
        assertEquals(List.of("virtio-rng-pci", "virtio-blk-pci"), d.devices().stream().map(Device::driver).toList());
        assertEquals(1L, d.devices().get(1).props().get("bootindex"));
        assertEquals("virtio-disk0", d.devices().get(1).id());
        assertEquals(Map.of("filename", "/dev/urandom"), d.objects().get(0).props());
        assertEquals("libvirt-1-format", d.disks().get(0).node());
    }

    @Test
    void legacyDriveIfVirtioBecomesADeviceAfterTheKeyValueDevices() throws Exception {
        List<String> argv = List.of("qemu-system-x86_64", "-m", "512", "-enable-kvm",
                "-drive", "file=/var/lib/vms/old.qcow2,if=virtio,format=qcow2,cache=none",
                "-device", "e1000,netdev=u0", "-netdev", "user,id=u0");
        VmDisk disk = new VmDisk("/machine/peripheral-anon/device[1]/virtio-backend", "#block123", "/var/lib/vms/old.qcow2", "qcow2",
                1L << 30, 1L << 20, null);
        VmDescription d = CommandLineDescriber.describe(new QemuCommandLine(1, argv), disk);
        assertEquals("kvm", d.accel().type());
        assertEquals(List.of("e1000", "virtio-blk-pci"), d.devices().stream().map(Device::driver).toList());
        assertEquals("virtio0", d.devices().get(1).props().get("drive"));
        assertNull(d.devices().get(1).id());
        assertEquals("virtio0", d.disks().get(0).node(), "the destination names the node after the drive");
    }

    @Test
    void legacyDriveIfNoneUsedByADevice() throws Exception {
        List<String> argv = List.of("qemu-system-x86_64", "-drive", "file=/var/lib/vms/web1.qcow2,if=none,id=drive0,format=qcow2",
                "-device", "virtio-blk-pci,drive=drive0,id=vda");
        VmDescription d = CommandLineDescriber.describe(new QemuCommandLine(1, argv),
                new VmDisk("vda", "#block5", "/var/lib/vms/web1.qcow2", "qcow2", 1L << 30, 1L << 20, null));
        assertEquals("drive0", d.disks().get(0).node());
        assertEquals(1, d.devices().size());
    }

    @Test
    void keyValueBlockdevsWithEscapedCommas() throws Exception {
        List<String> argv = List.of("qemu-system-x86_64", "-m", "128",
                // ",," is a comma inside the file name: not a node-name option
                "-blockdev", "driver=file,filename=/images/a,,node-name=evil.qcow2,node-name=hd-file",
                "-blockdev", "driver=qcow2,file=hd-file,node-name=hd,discard=unmap",
                "-device", "virtio-blk-pci,drive=hd");
        VmDescription d = CommandLineDescriber.describe(new QemuCommandLine(1, argv),
                new VmDisk("vda", "hd", "/images/a,node-name=evil.qcow2", "qcow2", 1L << 30, 1L << 20, null));
        assertEquals("hd", d.disks().get(0).node());
    }

    @Test
    void twoDisksAreDescribedInTheirDevicesOrder() throws Exception {
        List<String> argv = List.of("qemu-system-x86_64",
                "-blockdev", "driver=file,filename=/v/a.raw,node-name=a",
                "-blockdev", "{\"driver\":\"file\",\"filename\":\"/v/b.raw\",\"node-name\":\"b\"}",
                "-device", "{\"driver\":\"virtio-blk-pci\",\"drive\":\"b\",\"id\":\"vdb\"}",
                "-device", "virtio-blk-pci,drive=a,id=vda",
                "-drive", "file=/v/c.qcow2,if=virtio,format=qcow2");
        VmDescription d = CommandLineDescriber.describe(new QemuCommandLine(7, argv), List.of(
                new VmDisk("vda", "a", "/v/a.raw", "raw", 1L << 20, 1L << 20, null),
                new VmDisk("vdb", "b", "/v/b.raw", "raw", 2L << 20, 2L << 20, null),
                new VmDisk("virtio0", "#block9", "/v/c.qcow2", "qcow2", 3L << 20, 1L << 20, null)), List.of());
        // QEMU creates key=value devices, then -drive ones, then JSON ones: the disks follow their devices
        assertEquals(List.of("a", "virtio0", "b"), d.disks().stream().map(VmDescription.Disk::node).toList());
        assertEquals(List.of(1L << 20, 3L << 20, 2L << 20), d.disks().stream().map(VmDescription.Disk::virtualSize).toList());
    }

    @Test
    void aDiskNotMovedIsRefusedNamingIt() {
        List<String> argv = List.of("qemu-system-x86_64",
                "-blockdev", "driver=file,filename=/v/a.raw,node-name=a",
                "-blockdev", "{\"driver\":\"file\",\"filename\":\"/v/b.raw\",\"node-name\":\"b\"}",
                "-device", "virtio-blk-pci,drive=a,id=vda",
                "-device", "{\"driver\":\"virtio-blk-pci\",\"drive\":\"b\",\"id\":\"vdb\"}");
        AgentException e = assertThrows(AgentException.class, () -> CommandLineDescriber.describe(new QemuCommandLine(7, argv),
                new VmDisk("vda", "a", "/v/a.raw", "raw", 1L << 20, 1L << 20, null)));
        assertEquals(ErrorKind.ENVIRONMENT, e.kind());
        assertTrue(e.getMessage().contains("device vdb uses b (/v/b.raw), which vmmig does not move"), e.getMessage());
        assertTrue(e.getMessage().contains("pid 7"), e.getMessage());
    }

    @Test
    void unknownOptionsAndOneWaySerialsAreRefusedNamed() {
        for (List<String> extra : List.of(List.of("-plugin", "file=/tmp/libx.so"), List.of("-add-fd", "fd=3,set=1"),
                List.of("-serial", "mon:stdio"), List.of("-drive", "file=/isos/t.iso,media=cdrom"),
                List.of("-chardev", "socket,id=c,host=0.0.0.0,port=4444,server=on"))) {
            List<String> argv = new ArrayList<>(List.of("qemu-system-x86_64", "-blockdev", "driver=file,filename=/d.raw,node-name=d",
                    "-device", "virtio-blk-pci,drive=d"));
            argv.addAll(extra);
            AgentException e = assertThrows(AgentException.class, () -> CommandLineDescriber.describe(new QemuCommandLine(1, argv),
                    new VmDisk("vda", "d", "/d.raw", "raw", 1L << 20, 1L << 20, null)), extra.toString());
            assertEquals(ErrorKind.ENVIRONMENT, e.kind());
            assertTrue(e.getMessage().contains(extra.get(0)), e.getMessage());
        }
    }

    @Test
    void aNodeNoDeviceUsesIsRefused() {
        List<String> argv = List.of("qemu-system-x86_64",
                "-blockdev", "driver=file,filename=/d.raw,node-name=disk0",
                "-blockdev", "driver=file,filename=/spare.raw,node-name=spare",
                "-device", "virtio-blk-pci,drive=disk0");
        AgentException e = assertThrows(AgentException.class, () -> CommandLineDescriber.describe(new QemuCommandLine(9, argv),
                new VmDisk("vda", "disk0", "/d.raw", "raw", 1L << 20, 1L << 20, null)));
        assertTrue(e.getMessage().contains("spare"), e.getMessage());
    }

    @Test
    void unreadableBlockdevJsonIsNamed() {
        List<String> argv = List.of("qemu-system-x86_64", "-blockdev", "{\"driver\":\"file\",");
        AgentException e = assertThrows(AgentException.class,
                () -> CommandLineDescriber.describe(new QemuCommandLine(1, argv), DISK0));
        assertTrue(e.getMessage().contains("unreadable -blockdev JSON"), e.getMessage());
    }

    @Test
    void aMemorySizeThatIsNotWholeMibIsKeptInKib() throws Exception {
        List<String> argv = new ArrayList<>(testkitLike());
        argv.set(argv.indexOf("-m") + 1, "262152K");
        VmDescription d = CommandLineDescriber.describe(new QemuCommandLine(1, argv), DISK0);
        assertNull(d.memory().sizeMib());
        assertEquals(262152L, d.memory().sizeKib(), "256 MiB + 8 KiB, not truncated to 256 MiB (the destination's RAM would differ)");
        argv.set(argv.indexOf("-m") + 1, "size=524288K");
        assertEquals(512L, CommandLineDescriber.describe(new QemuCommandLine(1, argv), DISK0).memory().sizeMib(), "whole MiB stay MiB");
        argv.set(argv.indexOf("-m") + 1, "size=256M,maxmem=1048577K");
        AgentException e = assertThrows(AgentException.class, () -> CommandLineDescriber.describe(new QemuCommandLine(1, argv), DISK0));
        assertTrue(e.getMessage().contains("maxmem '1048577K' is not a whole number of MiB"), e.getMessage());
    }
}
