package io.vmmig.agent.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class QemuCommandLineTest {
    private static final String DISK_FILE = "{\"driver\":\"file\",\"filename\":\"/var/lib/vms/web1.qcow2\",\"node-name\":\"disk0-file\"}";
    private static final String DISK = "{\"driver\":\"qcow2\",\"file\":\"disk0-file\",\"backing\":\"base\",\"node-name\":\"disk0\"}";
    private static final String BASE_FILE = "{\"driver\":\"file\",\"filename\":\"/var/lib/vms/base.qcow2\",\"node-name\":\"base-file\","
            + "\"read-only\":true}";
    private static final String BASE = "{\"driver\":\"qcow2\",\"file\":\"base-file\",\"backing\":null,\"node-name\":\"base\",\"read-only\":true}";
    private static final String CD_FILE = "{\"driver\":\"file\",\"filename\":\"/isos/tools.iso\",\"node-name\":\"cd0-file\",\"read-only\":true}";
    private static final String CD = "{\"driver\":\"raw\",\"file\":\"cd0-file\",\"node-name\":\"cd0\",\"read-only\":true}";

    /** What the destination keeps of {@link #sourceArgv()} (before the disk, then after it). */
    private static final List<String> KEPT_HEAD = List.of(
            "-name", "web1", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-m", "256",
            "-accel", "tcg",
            "-chardev", "socket,id=ser0,path=/run/vms/web1/serial.sock",
            "-serial", "chardev:ser0",
            "-kernel", "/boot/vmlinuz", "-initrd", "/boot/initrd.img", "-append", "console=ttyS0 quiet");

    private static List<String> sourceArgv() {
        List<String> a = new ArrayList<>(List.of("/usr/bin/qemu-system-x86_64",
                "-name", "web1", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-m", "256",
                "-accel", "tcg",
                "-qmp", "unix:/run/vms/web1/qmp.sock,server=on,wait=off",
                "-chardev", "socket,id=ser0,path=/run/vms/web1/serial.sock",
                "-serial", "chardev:ser0",
                "-kernel", "/boot/vmlinuz", "-initrd", "/boot/initrd.img", "-append", "console=ttyS0 quiet",
                "-blockdev", BASE_FILE,
                "-blockdev", BASE,
                "-blockdev", DISK_FILE,
                "-blockdev", DISK,
                "-device", "virtio-blk-pci,drive=disk0,id=vda",
                "-blockdev", CD_FILE,
                "-blockdev", CD,
                "-device", "ide-cd,drive=cd0,id=cd",
                "-mon", "chardev=hmp0,mode=readline",
                "-chardev", "socket,id=hmp0,path=/run/vms/web1/hmp.sock,server=on,wait=off",
                "--qmp", "unix:/run/vms/web1/vmmig.sock,server=on,wait=off",
                "-qmp-pretty", "unix:/run/vms/web1/pretty.sock,server=on,wait=off",
                "-monitor", "none",
                "-incoming", "defer",
                "-pidfile", "/run/vms/web1/qemu.pid",
                "-daemonize",
                "-S",
                "-netdev", "user,id=n0",
                "-device", "virtio-net-pci,netdev=n0"));
        return a;
    }

    private static List<String> expectedDestination() {
        List<String> e = new ArrayList<>(KEPT_HEAD);
        e.addAll(List.of("-device", "virtio-blk-pci,drive=disk0,id=vda,share-rw=on",
                "-blockdev", CD_FILE, "-blockdev", CD, "-device", "ide-cd,drive=cd0,id=cd",
                "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"));
        return e;
    }

    @Test
    void testkitLikeCommandLineLosesItsDiskChainMonitorsAndOneShotOptions() throws Exception {
        List<String> dest = new QemuCommandLine(1234, sourceArgv()).destinationArgs("disk0");
        assertEquals(expectedDestination(), dest);
        String all = String.join(" ", dest);
        for (String gone : List.of("disk0-file", "base-file", "\"base\"", "qmp.sock", "vmmig.sock", "pretty.sock", "hmp", "-incoming",
                "-pidfile", "-daemonize", " -S ", "-monitor", "qemu-system"))
            assertFalse(all.contains(gone), gone + " left in " + all);
    }

    @Test
    void sourceCommandLineIsKeptAsGiven() {
        QemuCommandLine c = new QemuCommandLine(77, sourceArgv());
        assertEquals(77, c.pid());
        assertEquals(sourceArgv(), c.argv());
        assertThrows(UnsupportedOperationException.class, () -> c.argv().add("-x"));
    }

    @Test
    void existingShareRwIsForcedOn() throws Exception {
        List<String> argv = List.of("qemu-system-x86_64",
                "-blockdev", DISK_FILE,
                "-blockdev", "{\"driver\":\"qcow2\",\"file\":\"disk0-file\",\"node-name\":\"disk0\"}",
                "-device", "virtio-blk-pci,drive=disk0,share-rw=off,id=vda");
        assertEquals(List.of("-device", "virtio-blk-pci,drive=disk0,share-rw=on,id=vda"),
                new QemuCommandLine(1, argv).destinationArgs("disk0"));
    }

    @Test
    void keyValueBlockdevsWithEscapedCommas() throws Exception {
        List<String> argv = List.of("qemu-system-x86_64", "-m", "128",
                // ",," is a comma inside the file name: not a node-name option
                "-blockdev", "driver=file,filename=/images/a,,node-name=evil.qcow2,node-name=hd-file",
                "-blockdev", "driver=qcow2,file=hd-file,node-name=hd,discard=unmap",
                "-blockdev", "driver=file,filename=/images/evil,node-name=evil",
                "-device", "virtio-blk-pci,drive=hd",
                "-device", "virtio-blk-pci,drive=evil,id=other");
        List<String> dest = new QemuCommandLine(1, argv).destinationArgs("hd");
        assertEquals(List.of("-m", "128",
                "-blockdev", "driver=file,filename=/images/evil,node-name=evil",
                "-device", "virtio-blk-pci,drive=hd,share-rw=on",
                "-device", "virtio-blk-pci,drive=evil,id=other"), dest);
    }

    @Test
    void keyValueBackingChainIsRemovedWhole() throws Exception {
        List<String> argv = List.of("qemu-system-x86_64",
                "-blockdev", "driver=file,filename=/b.raw,node-name=b-file",
                "-blockdev", "driver=raw,file=b-file,node-name=b",
                "-blockdev", "driver=file,filename=/top.qcow2,node-name=top-file",
                "-blockdev", "driver=qcow2,file=top-file,backing=b,node-name=top",
                "--device", "virtio-blk-pci,id=vda,drive=top");
        assertEquals(List.of("--device", "virtio-blk-pci,id=vda,drive=top,share-rw=on"),
                new QemuCommandLine(1, argv).destinationArgs("top"));
    }

    @Test
    void monitorChardevIsRemovedWhereverItIsDefined() throws Exception {
        List<String> argv = List.of("qemu-system-x86_64",
                "-chardev", "socket,id=qmp1,path=/run/q1.sock,server=on,wait=off",
                "-chardev", "socket,id=qmp10,path=/run/keep.sock,server=on,wait=off",
                "-mon", "chardev=qmp1,mode=control,pretty=on",
                "-blockdev", "driver=file,filename=/d.raw,node-name=d",
                "-device", "scsi-hd,drive=d",
                "-serial", "chardev:qmp10");
        assertEquals(List.of("-chardev", "socket,id=qmp10,path=/run/keep.sock,server=on,wait=off",
                "-device", "scsi-hd,drive=d,share-rw=on", "-serial", "chardev:qmp10"),
                new QemuCommandLine(1, argv).destinationArgs("d"));
    }

    @Test
    void diskDefinedWithDriveOnlyIsRefused() {
        List<String> argv = List.of("qemu-system-x86_64", "-drive", "file=/var/lib/vms/web1.qcow2,if=none,id=disk0,format=qcow2",
                "-device", "virtio-blk-pci,drive=disk0");
        AgentException e = assertThrows(AgentException.class, () -> new QemuCommandLine(4321, argv).destinationArgs("disk0"));
        assertEquals(ErrorKind.ENVIRONMENT, e.kind());
        assertTrue(e.getMessage().contains("'disk0'"), e.getMessage());
        assertTrue(e.getMessage().contains("-blockdev"), e.getMessage());
        assertTrue(e.getMessage().contains("-drive"), e.getMessage());
        assertTrue(e.getMessage().contains("pid 4321"), e.getMessage());
    }

    @Test
    void noDeviceUsingTheNodeIsRefused() {
        List<String> argv = List.of("qemu-system-x86_64",
                "-blockdev", "driver=file,filename=/d.raw,node-name=disk0",
                "-device", "virtio-blk-pci,drive=disk01",
                "-device", "virtio-blk-pci,id=disk0");
        AgentException e = assertThrows(AgentException.class, () -> new QemuCommandLine(9, argv).destinationArgs("disk0"));
        assertEquals(ErrorKind.ENVIRONMENT, e.kind());
        assertTrue(e.getMessage().contains("no -device uses drive=disk0"), e.getMessage());
        assertTrue(e.getMessage().contains("pid 9"), e.getMessage());
    }

    @Test
    void unreadableBlockdevJsonIsNamed() {
        List<String> argv = List.of("qemu-system-x86_64", "-blockdev", "{\"driver\":\"file\",");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new QemuCommandLine(1, argv).destinationArgs("d"));
        assertTrue(e.getMessage().contains("unreadable -blockdev JSON"), e.getMessage());
    }
}
