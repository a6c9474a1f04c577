package io.vmmig.agent.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.config.QemuPolicy;
import io.vmmig.agent.vm.VmDescription.Chardev;
import io.vmmig.agent.vm.VmDescription.Device;
import io.vmmig.agent.vm.VmDescription.Monitor;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The destination's own command line from a validated description; the user's monitors kept where they can be. */
class DestinationCommandLineTest {
    @TempDir
    Path tmp;

    private static final List<String> DISK_ARGS = List.of("-blockdev", "{\"driver\":\"raw\",\"node-name\":\"disk0\"}");

    private VmDescription described(Path vms) throws Exception {
        List<String> argv = List.of("qemu-system-x86_64", "-name", "web1", "-nodefaults", "-machine", "pc,usb=off", "-accel", "tcg",
                "-cpu", "max,+x2apic", "-smp", "2", "-m", "256", "-display", "none", "-kernel", "/boot/vmlinuz", "-append", "console=ttyS0 a=b,c",
                "-qmp", "unix:" + vms + "/qmp.sock,server=on,wait=off",
                "-chardev", "socket,id=ser0,path=" + vms + "/serial.sock", "-serial", "chardev:ser0",
                "-netdev", "tap,id=n0,ifname=vnet3,script=/etc/qemu-ifup",
                "-device", "{\"driver\":\"virtio-blk-pci\",\"drive\":\"disk0\",\"id\":\"vda\",\"bootindex\":1,\"share-rw\":false}",
                "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01",
                "-blockdev", "driver=file,filename=/v/d.qcow2,node-name=disk0-file", "-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0");
        return CommandLineDescriber.describe(new QemuCommandLine(1, argv),
                new VmDisk("vda", "disk0", "/v/d.qcow2", "qcow2", 1L << 30, 1L << 20, null));
    }

    @Test
    void theCommandLineIsWrittenFromTheDescriptionAlone() throws Exception {
        Path vms = Files.createDirectories(tmp.resolve("vms"));
        QemuPolicy policy = new QemuPolicy(List.of(Path.of("/boot")), List.of(vms), List.of("vnet*"), null);
        VmDescription d = DestinationCommandLine.placeMonitors(described(vms), policy).description();
        assertEquals(List.of(
                "-name", "guest=web1", "-machine", "type=pc,usb=off", "-accel", "tcg", "-cpu", "max,+x2apic", "-smp", "cpus=2",
                "-m", "size=256M", "-kernel", "/boot/vmlinuz", "-append", "console=ttyS0 a=b,c", "-nodefaults", "-display", "none",
                "-chardev", "socket,id=vmmig-user-mon0,path=" + vms + "/qmp.sock,server=on,wait=off",
                "-chardev", "socket,id=ser0,path=" + vms + "/serial.sock",
                "-mon", "chardev=vmmig-user-mon0,mode=control",
                "-serial", "chardev:ser0",
                "-netdev", "tap,id=n0,ifname=vnet3,script=no,downscript=no",
                // key=value devices are created before JSON ones at the source: the same order here
                "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01",
                "-device", "virtio-blk-pci,id=vda,drive=disk0,bootindex=1,share-rw=on",
                "-blockdev", "{\"driver\":\"raw\",\"node-name\":\"disk0\"}",
                "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"),
                DestinationCommandLine.build(d, policy, DISK_ARGS));
    }

    @Test
    void runAsDropsToTheUserUnderTheFilterThatAllowsIt() {
        QemuPolicy policy = new QemuPolicy(List.of(), List.of(), List.of(), "libvirt-qemu");
        List<String> args = DestinationCommandLine.build(Descriptions.minimal("disk0"), policy, DISK_ARGS);
        int s = args.indexOf("-sandbox");
        assertEquals("on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny", args.get(s + 1));
        assertEquals(List.of("-runas", "libvirt-qemu"), args.subList(args.size() - 2, args.size()));
    }

    @Test
    void theUsersMonitorsAreKeptWhereTheyCanBeServed() throws Exception {
        Path vms = Files.createDirectories(tmp.resolve("vms"));
        Path live = vms.resolve("live.sock");
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(live));   // another QEMU's monitor (the source's, on this same host)
            Files.writeString(vms.resolve("stale.sock"), "");   // a file left by a QEMU that is gone: QEMU replaces it
            List<Chardev> chardevs = List.of(
                    new Chardev("m0", "socket", vms + "/free.sock", true, false),
                    new Chardev("m1", "socket", live.toString(), true, false),
                    new Chardev("m2", "socket", tmp + "/elsewhere/x.sock", true, false),
                    new Chardev("m3", "socket", "/run/not-allowed.sock", true, false),
                    new Chardev("m4", "socket", vms + "/stale.sock", true, false),
                    new Chardev("ser0", "socket", vms + "/serial.sock", null, null));
            List<Monitor> monitors = List.of(new Monitor("m0", "control", null), new Monitor("m1", "control", null),
                    new Monitor("m2", "readline", null), new Monitor("m3", "control", null), new Monitor("m4", "readline", null));
            VmDescription min = Descriptions.minimal("disk0");
            VmDescription d = new VmDescription(1, null, null, null, null, null, null, min.memory(), null, null, null, null, null, null,
                    chardevs, monitors, List.of("ser0"), null, min.devices(), min.disks());
            QemuPolicy policy = new QemuPolicy(List.of(), List.of(vms, tmp.resolve("elsewhere")), List.of(), null);
            DestinationCommandLine.Placed placed = DestinationCommandLine.placeMonitors(d, policy);
            assertEquals(List.of("m0", "m4"), placed.description().monitors().stream().map(Monitor::chardev).toList());
            assertEquals(List.of("m0", "m4", "ser0"), placed.description().chardevs().stream().map(Chardev::id).toList(),
                    "the serial console is not a monitor: the validator decides on it");
            assertEquals(3, placed.droppedMonitors().size(), placed.droppedMonitors().toString());
            assertTrue(placed.droppedMonitors().get(0).contains("a live socket"), placed.droppedMonitors().toString());
            assertTrue(placed.droppedMonitors().get(1).contains("does not exist"), placed.droppedMonitors().toString());
            assertTrue(placed.droppedMonitors().get(2).contains("outside allowed.chardev-dirs"), placed.droppedMonitors().toString());
            new DescriptionValidator(policy).check(placed.description(), java.util.List.of("disk0"), java.util.List.of("qcow2"));
            List<String> args = DestinationCommandLine.build(placed.description(), policy, DISK_ARGS);
            assertTrue(args.contains("socket,id=m0,path=" + vms + "/free.sock,server=on,wait=off"), args.toString());
            assertTrue(args.contains("chardev=m4,mode=readline"), args.toString());
            assertFalse(String.join(" ", args).contains(live.toString()), "a live socket is never taken over");
        }
    }

    @Test
    void booleansAndNumbersOfJsonDevicesBecomeQemuValues() {
        Map<String, Object> props = new LinkedHashMap<>();
        props.put("drive", "disk0");
        props.put("bootindex", 2L);
        props.put("write-cache", true);
        VmDescription min = Descriptions.minimal("disk0");
        VmDescription d = new VmDescription(1, null, null, null, null, null, null, min.memory(), null, null, null, null, null, null,
                null, null, null, null, List.of(new Device("virtio-blk-pci", null, props)), min.disks());
        List<String> args = DestinationCommandLine.build(d, QemuPolicy.defaults(), DISK_ARGS);
        assertTrue(args.contains("virtio-blk-pci,drive=disk0,bootindex=2,write-cache=on,share-rw=on"), args.toString());
    }
}
