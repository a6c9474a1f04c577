package io.vmmig.agent.vm;

import io.vmmig.agent.config.QemuPolicy;
import io.vmmig.agent.vm.VmDescription.Chardev;
import io.vmmig.agent.vm.VmDescription.Device;
import io.vmmig.agent.vm.VmDescription.Disk;
import io.vmmig.agent.vm.VmDescription.Memory;
import io.vmmig.agent.vm.VmDescription.Monitor;
import io.vmmig.agent.vm.VmDescription.Netdev;
import io.vmmig.agent.vm.VmDescription.QomObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The destination's allow-list for a {@link VmDescription} from a peer: every driver, backend, property
 * and path checked before anything is created or started; the first violation is a
 * {@link RefusedDescriptionException} naming the field and why. Host paths are checked against the
 * destination's own {@link QemuPolicy}: kernels/firmware under {@code allowed.kernel-dirs}, chardev
 * sockets and files under {@code allowed.chardev-dirs} (symbolic links resolved), taps from
 * {@code allowed.taps}. Nothing here runs, opens or creates anything.
 */
public final class DescriptionValidator {
    static final Pattern ID = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,63}");
    /** Values of properties and options: no commas, no {@code =}, no slashes (no paths), bounded. */
    static final Pattern VALUE = Pattern.compile("[A-Za-z0-9_.:+-]{0,128}");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern UUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern CPU_FLAG = Pattern.compile("[+-]?[A-Za-z0-9_.-]{1,64}(=[A-Za-z0-9_.-]{1,64})?");
    private static final Pattern TAP = Pattern.compile("[A-Za-z0-9_.-]{1,15}");

    static final Set<String> FLAGS = Set.of("nodefaults", "no-user-config", "no-reboot", "no-shutdown", "no-hpet");
    static final Set<String> ACCELS = Set.of("tcg", "kvm");
    static final Set<String> ACCEL_PROPS = Set.of("thread", "tb-size", "kernel-irqchip");
    static final Set<String> MACHINE_PROPS = Set.of("usb", "dump-guest-core", "vmport", "smm", "mem-merge", "hpet",
            "kernel-irqchip", "memory-backend", "graphics", "pic", "pit", "acpi", "sata", "i8042");
    static final Set<String> BOOT_OPTIONS = Set.of("order", "once", "menu", "strict", "reboot-timeout", "splash-time");
    static final Set<String> RTC_OPTIONS = Set.of("base", "clock", "driftfix");
    static final Set<String> VGAS = Set.of("none", "std", "virtio", "cirrus");
    static final Map<String, Set<String>> OBJECTS = Map.of(
            "memory-backend-ram", Set.of("size", "prealloc", "merge", "dump", "share", "policy", "x-use-canonical-path-for-ramblock-id"),
            "rng-random", Set.of("filename"),
            "rng-builtin", Set.of(),
            "iothread", Set.of("poll-max-ns", "poll-grow", "poll-shrink"));
    static final Set<String> RNG_SOURCES = Set.of("/dev/urandom", "/dev/random", "/dev/hwrng");
    static final Set<String> CHARDEV_BACKENDS = Set.of("socket", "pty", "null", "file");
    static final Set<String> DISK_FORMATS = Set.of("qcow2", "raw");
    static final Set<String> DISK_DRIVERS = Set.of("virtio-blk-pci", "scsi-hd", "ide-hd");
    static final Set<String> DRIVERS = Set.of("virtio-blk-pci", "virtio-net-pci", "virtio-serial-pci", "virtio-serial",
            "virtserialport", "virtconsole", "isa-serial", "e1000", "e1000e", "rtl8139", "virtio-rng-pci", "virtio-balloon-pci",
            "virtio-scsi-pci", "scsi-hd", "ide-hd", "ide-cd", "scsi-cd", "pcie-root-port", "pci-bridge", "qemu-xhci", "usb-tablet",
            "usb-kbd", "usb-mouse", "pvpanic", "i6300esb", "virtio-keyboard-pci", "virtio-mouse-pci", "virtio-tablet-pci");
    static final Set<String> DEVICE_PROPS = Set.of("bus", "addr", "multifunction", "drive", "netdev", "mac", "chardev", "name",
            "serial", "bootindex", "share-rw", "write-cache", "num-queues", "queue-size", "iothread", "max_ports", "nr", "index",
            "rombar", "romfile", "logical_block_size", "physical_block_size", "discard_granularity", "vectors", "disable-legacy",
            "disable-modern", "ioeventfd", "event_idx", "indirect_desc", "mq", "rng", "max-bytes", "period", "chassis", "port",
            "slot", "host_mtu", "rx_queue_size", "tx_queue_size", "iobase", "irq", "wwn", "lun", "channel", "scsi-id", "unit");
    static final int MAX_DEVICES = 128;
    static final int MAX_CHARDEVS = 32;
    static final int MAX_NETDEVS = 16;
    static final int MAX_OBJECTS = 32;
    static final int MAX_APPEND = 4096;
    /** Longest UNIX socket path (sun_path less its terminator). */
    static final int MAX_SOCKET_PATH = 107;

    private final QemuPolicy policy;

    /** Most disks one VM may bring. */
    static final int MAX_DISKS = 16;

    public DescriptionValidator(QemuPolicy policy) {
        this.policy = policy;
    }

    /**
     * Checks {@code d} whole; {@code diskNodes} and {@code formats} are the PREPARE's, in its order (the
     * disks the destination strategy will define).
     */
    public void check(VmDescription d, List<String> diskNodes, List<String> formats) throws RefusedDescriptionException {
        if (d.schema() != VmDescription.SCHEMA) refuse("schema", "this agent reads schema " + VmDescription.SCHEMA);
        if (d.name() != null) matches("name", d.name(), NAME);
        if (d.uuid() != null) matches("uuid", d.uuid(), UUID);
        Set<String> objectIds = objects(d.objects());
        if (d.machine() != null) {
            if (d.machine().type() != null) matches("machine.type", d.machine().type(), NAME);
            props("machine.props", d.machine().props(), MACHINE_PROPS);
            String backend = d.machine().props() == null ? null : d.machine().props().get("memory-backend");
            if (backend != null && !objectIds.contains(backend))
                refuse("machine.props.memory-backend", "no memory-backend-ram object " + backend + " in objects");
        }
        if (d.accel() != null) {
            oneOf("accel.type", d.accel().type(), ACCELS);
            props("accel.props", d.accel().props(), ACCEL_PROPS);
        }
        if (d.cpu() != null) {
            required("cpu.model", d.cpu().model());
            matches("cpu.model", d.cpu().model(), NAME);
            List<String> flags = d.cpu().flags();
            if (flags != null) {
                bound("cpu.flags", flags.size(), 256);
                for (int i = 0; i < flags.size(); i++) matches("cpu.flags[" + i + "]", flags.get(i), CPU_FLAG);
            }
        }
        if (d.smp() != null) {
            required("smp.cpus", d.smp().cpus());
            range("smp.cpus", d.smp().cpus(), 1, 1024);
            range("smp.sockets", d.smp().sockets(), 1, 1024);
            range("smp.cores", d.smp().cores(), 1, 1024);
            range("smp.threads", d.smp().threads(), 1, 1024);
            range("smp.maxcpus", d.smp().maxcpus(), d.smp().cpus(), 1024);
        }
        if (d.memory() != null) {
            Memory m = d.memory();
            if (m.sizeMib() != null && m.sizeKib() != null) refuse("memory.sizeKib", "given together with memory.sizeMib");
            required("memory.sizeMib", m.kib());
            range("memory.sizeMib", m.sizeMib(), 1, 4L << 20);
            range("memory.sizeKib", m.sizeKib(), 1, 4L << 30);
            if (m.sizeKib() != null && m.sizeKib() % 4 != 0) refuse("memory.sizeKib", m.sizeKib() + " is not a multiple of 4 (KiB pages)");
            range("memory.slots", m.slots(), 0, 256);
            range("memory.maxMib", m.maxMib(), (m.kib() + 1023) / 1024, 16L << 20);
        }
        if (d.boot() != null) {
            if (d.boot().kernel() != null) bootFile("boot.kernel", d.boot().kernel());
            if (d.boot().initrd() != null) bootFile("boot.initrd", d.boot().initrd());
            if (d.boot().bios() != null) bootFile("boot.bios", d.boot().bios());
            String append = d.boot().append();
            if (append != null) {
                if (append.length() > MAX_APPEND) refuse("boot.append", append.length() + " characters, more than " + MAX_APPEND);
                if (append.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) refuse("boot.append", "control characters");
            }
            props("boot.options", d.boot().options(), BOOT_OPTIONS);
        }
        props("rtc", d.rtc(), RTC_OPTIONS);
        if (d.flags() != null) {
            bound("flags", d.flags().size(), FLAGS.size());
            for (int i = 0; i < d.flags().size(); i++) oneOf("flags[" + i + "]", d.flags().get(i), FLAGS);
        }
        if (d.display() != null && !d.display().equals("none")) refuse("display", "'" + d.display() + "': only none (no display server)");
        if (d.vga() != null) oneOf("vga", d.vga(), VGAS);
        Map<String, Chardev> chardevs = chardevs(d.chardevs());
        monitors(d.monitors(), chardevs);
        List<String> serials = d.serials();
        if (serials != null) {
            bound("serials", serials.size(), 4);
            for (int i = 0; i < serials.size(); i++) reference("serials[" + i + "]", serials.get(i), chardevs.keySet(), "chardev");
        }
        Set<String> netdevIds = netdevs(d.netdevs());
        Set<String> diskNodeSet = disks(d.disks(), diskNodes, formats);
        devices(d.devices(), diskNodeSet, netdevIds, chardevs.keySet(), objectIds);
    }

    private Set<String> objects(List<QomObject> objects) throws RefusedDescriptionException {
        Set<String> ids = new HashSet<>();
        if (objects == null) return ids;
        bound("objects", objects.size(), MAX_OBJECTS);
        for (int i = 0; i < objects.size(); i++) {
            QomObject o = objects.get(i);
            String at = "objects[" + i + "]";
            required(at, o);
            required(at + ".qomType", o.qomType());
            Set<String> allowed = OBJECTS.get(o.qomType());
            if (allowed == null)
                refuse(at + ".qomType", "'" + o.qomType() + "' is not an allowed object type " + new java.util.TreeSet<>(OBJECTS.keySet())
                        + (o.qomType().startsWith("memory-backend") ? " (memory: ram only, never a host file or fd)" : ""));
            id(at + ".id", o.id(), ids);
            if (o.props() != null && o.qomType().equals("rng-random")) {
                String f = o.props().get("filename");
                if (f != null && !RNG_SOURCES.contains(f)) refuse(at + ".props.filename", "'" + f + "': only " + RNG_SOURCES);
                Map<String, String> rest = new java.util.HashMap<>(o.props());
                rest.remove("filename");   // checked above: a path, which props() would refuse as a value
                props(at + ".props", rest, allowed);
                continue;
            }
            props(at + ".props", o.props(), allowed);
        }
        return ids;
    }

    private Map<String, Chardev> chardevs(List<Chardev> chardevs) throws RefusedDescriptionException {
        Map<String, Chardev> byId = new HashMap<>();
        if (chardevs == null) return byId;
        bound("chardevs", chardevs.size(), MAX_CHARDEVS);
        for (int i = 0; i < chardevs.size(); i++) {
            Chardev c = chardevs.get(i);
            String at = "chardevs[" + i + "]";
            required(at, c);
            id(at + ".id", c.id(), new HashSet<>(byId.keySet()));
            required(at + ".backend", c.backend());
            if (!CHARDEV_BACKENDS.contains(c.backend()))
                refuse(at + ".backend", "'" + c.backend() + "' is not an allowed chardev backend " + new java.util.TreeSet<>(CHARDEV_BACKENDS)
                        + (c.backend().equals("exec") || c.backend().equals("pipe") ? ": it runs or opens something on the host" : ""));
            switch (c.backend()) {
                case "socket", "file" -> {
                    required(at + ".path", c.path());
                    chardevPath(at + ".path", c.path(), c.backend().equals("socket") ? "socket" : "file");
                }
                default -> {
                    if (c.path() != null) refuse(at + ".path", "a " + c.backend() + " chardev has no path");
                }
            }
            if (!c.backend().equals("socket") && (c.server() != null || c.waitForClient() != null))
                refuse(at + ".server", "only socket chardevs are servers");
            byId.put(c.id(), c);
        }
        return byId;
    }

    private static void monitors(List<Monitor> monitors, Map<String, Chardev> chardevs) throws RefusedDescriptionException {
        if (monitors == null) return;
        bound("monitors", monitors.size(), 8);
        for (int i = 0; i < monitors.size(); i++) {
            Monitor m = monitors.get(i);
            String at = "monitors[" + i + "]";
            required(at, m);
            reference(at + ".chardev", m.chardev(), chardevs.keySet(), "chardev");
            if (!"socket".equals(chardevs.get(m.chardev()).backend())) refuse(at + ".chardev", "a monitor is a UNIX socket here");
            oneOf(at + ".mode", m.mode(), Set.of("control", "readline"));
        }
    }

    private Set<String> netdevs(List<Netdev> netdevs) throws RefusedDescriptionException {
        Set<String> ids = new HashSet<>();
        if (netdevs == null) return ids;
        bound("netdevs", netdevs.size(), MAX_NETDEVS);
        for (int i = 0; i < netdevs.size(); i++) {
            Netdev n = netdevs.get(i);
            String at = "netdevs[" + i + "]";
            required(at, n);
            id(at + ".id", n.id(), ids);
            required(at + ".type", n.type());
            switch (n.type()) {
                case "tap" -> {
                    required(at + ".ifname", n.ifname());
                    matches(at + ".ifname", n.ifname(), TAP);
                    if (!policy.allowsTap(n.ifname()))
                        refuse(at + ".ifname", "tap '" + n.ifname() + "' is not in this host's allowed.taps " + policy.taps());
                    if (n.bridge() != null) refuse(at + ".bridge", "a tap has no bridge option");
                }
                case "user" -> {
                    if (n.ifname() != null) refuse(at + ".ifname", "a user netdev has no interface");
                    if (n.bridge() != null) refuse(at + ".bridge", "a user netdev has no bridge");
                    if (n.vhost() != null) refuse(at + ".vhost", "a user netdev has no vhost");
                }
                case "bridge" -> refuse(at + ".type", "a bridge netdev runs qemu-bridge-helper, a program, which the sandboxed"
                        + " destination QEMU never runs (spawn=deny): give the VM a tap from allowed.taps that your network setup"
                        + " adds to the bridge");
                default -> refuse(at + ".type", "'" + n.type() + "' is not an allowed netdev type [tap, user]");
            }
        }
        return ids;
    }

    private static Set<String> disks(List<Disk> disks, List<String> diskNodes, List<String> formats) throws RefusedDescriptionException {
        if (disks == null || disks.isEmpty()) refuse("disks", "no disk");
        bound("disks", disks.size(), MAX_DISKS);
        if (disks.size() != diskNodes.size() || formats.size() != diskNodes.size())
            refuse("disks", disks.size() + " disks, but the prepare moves " + diskNodes.size());
        Set<String> nodes = new java.util.LinkedHashSet<>();
        for (int i = 0; i < disks.size(); i++) {
            String at = "disks[" + i + "]";
            String format = formats.get(i);
            if (!DISK_FORMATS.contains(format))
                refuse(at + ".format", "'" + abbreviate(String.valueOf(format)) + "': the destination creates " + DISK_FORMATS + " images");
            Disk k = disks.get(i);
            required(at, k);
            required(at + ".node", k.node());
            matches(at + ".node", k.node(), ID);
            if (k.node().startsWith("vmmig-")) refuse(at + ".node", "'" + k.node() + "': node names vmmig-* are the destination's own");
            if (!k.node().equals(diskNodes.get(i)))
                refuse(at + ".node", "'" + k.node() + "' is not the prepared disk node '" + diskNodes.get(i) + "'");
            if (k.format() != null && !k.format().equals(format))
                refuse(at + ".format", "'" + k.format() + "' is not the prepared format '" + format + "'");
            if (!nodes.add(k.node())) refuse(at + ".node", "disk node " + k.node() + " twice");
        }
        return nodes;
    }

    private static void devices(List<Device> devices, Set<String> diskNodes, Set<String> netdevs, Set<String> chardevs,
                                Set<String> objects) throws RefusedDescriptionException {
        if (devices == null) devices = List.of();
        bound("devices", devices.size(), MAX_DEVICES);
        Set<String> ids = new HashSet<>();
        Set<String> usedDisks = new HashSet<>();
        for (int i = 0; i < devices.size(); i++) {
            Device d = devices.get(i);
            String at = "devices[" + i + "]";
            required(at, d);
            required(at + ".driver", d.driver());
            if (!DRIVERS.contains(d.driver())) refuse(at + ".driver", "'" + d.driver() + "' is not an allowed device driver");
            if (d.id() != null) id(at + ".id", d.id(), ids);
            Map<String, Object> props = d.props() == null ? Map.of() : d.props();
            for (Map.Entry<String, Object> e : props.entrySet()) {
                String k = e.getKey();
                String p = at + ".props." + k;
                if (!DEVICE_PROPS.contains(k)) refuse(p, RefusedDescriptionException.property(k));
                Object v = e.getValue();
                // any romfile but "" is a host path, a number too (QEMU reads romfile=-1 as the file "-1"; found by jqwik)
                if (k.equals("romfile") && !"".equals(v)) refuse(p, "a ROM file opens a host path: only romfile=\"\" (no ROM)");
                if (v instanceof String s) {
                    if (!VALUE.matcher(s).matches()) refuse(p, "'" + abbreviate(s) + "' is not a plain value (letters, digits, _ . : + -)");
                } else if (!(v instanceof Boolean) && !(v instanceof Integer) && !(v instanceof Long)) {
                    refuse(p, "not a string, number or boolean");
                }
            }
            Object drive = props.get("drive");
            if (drive != null) {
                if (!DISK_DRIVERS.contains(d.driver())) refuse(at + ".props.drive", d.driver() + " cannot hold the migrated disk");
                reference(at + ".props.drive", drive.toString(), diskNodes, "disk node");
                if (!usedDisks.add(drive.toString())) refuse(at + ".props.drive", "disk " + drive + " used by two devices");
            }
            if (props.get("netdev") != null) reference(at + ".props.netdev", props.get("netdev").toString(), netdevs, "netdev");
            if (props.get("chardev") != null) reference(at + ".props.chardev", props.get("chardev").toString(), chardevs, "chardev");
            if (props.get("rng") != null) reference(at + ".props.rng", props.get("rng").toString(), objects, "object");
            if (props.get("iothread") != null) reference(at + ".props.iothread", props.get("iothread").toString(), objects, "object");
        }
        for (String n : diskNodes) if (!usedDisks.contains(n)) refuse("disks", "no device uses disk " + n);
    }

    /** A kernel, initrd or firmware: an existing regular file whose real path is under allowed.kernel-dirs. */
    private void bootFile(String field, String path) throws RefusedDescriptionException {
        Path p = plainPath(field, path);
        Path real;
        try {
            real = p.toRealPath();
        } catch (IOException e) {
            refuse(field, "'" + path + "' does not exist at the destination");
            return;
        }
        if (!Files.isRegularFile(real)) refuse(field, "'" + path + "' is not a regular file");
        if (!under(real, policy.kernelDirs()))
            refuse(field, "'" + path + "' is outside this host's allowed.kernel-dirs " + policy.kernelDirs());
    }

    /**
     * A chardev socket or file: its directory (symbolic links resolved) under allowed.chardev-dirs, and
     * the path itself not a symbolic link (QEMU would follow it).
     */
    private void chardevPath(String field, String path, String what) throws RefusedDescriptionException {
        Path p = plainPath(field, path);
        if (what.equals("socket") && path.length() > MAX_SOCKET_PATH)
            refuse(field, "'" + abbreviate(path) + "' is longer than a UNIX socket path can be (" + MAX_SOCKET_PATH + ")");
        Path parent = p.getParent();
        Path realParent;
        try {
            realParent = parent.toRealPath();
        } catch (IOException e) {
            refuse(field, "the directory of '" + path + "' does not exist at the destination");
            return;
        }
        if (!under(realParent, policy.chardevDirs()))
            refuse(field, "'" + path + "' (a " + what + ") is outside this host's allowed.chardev-dirs " + policy.chardevDirs());
        if (Files.isSymbolicLink(p)) refuse(field, "'" + path + "' is a symbolic link");
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && what.equals("file") && !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
            refuse(field, "'" + path + "' exists and is not a regular file");
    }

    /** Absolute, normal (no {@code .}, {@code ..}, {@code //}), no comma or control character, bounded. */
    private static Path plainPath(String field, String path) throws RefusedDescriptionException {
        if (path.length() > 4096) refuse(field, "a path of " + path.length() + " characters");
        if (path.chars().anyMatch(c -> c < 0x20 || c == ',' || c == 0x7f)) refuse(field, "'" + abbreviate(path) + "' holds a comma or a control character");
        Path p;
        try {
            p = Path.of(path);
        } catch (RuntimeException e) {
            refuse(field, "'" + abbreviate(path) + "' is not a path");
            return null;
        }
        if (!p.isAbsolute() || !p.normalize().toString().equals(path) || p.getParent() == null)
            refuse(field, "'" + abbreviate(path) + "' is not an absolute normalised path");
        return p;
    }

    private static boolean under(Path real, List<Path> dirs) {
        for (Path d : dirs) {
            Path base;
            try {
                base = d.toRealPath();
            } catch (IOException e) {
                continue;   // an allowed directory that does not exist allows nothing
            }
            if (real.startsWith(base)) return true;
        }
        return false;
    }

    private static void props(String field, Map<String, String> props, Set<String> allowed) throws RefusedDescriptionException {
        if (props == null) return;
        bound(field, props.size(), 64);
        for (Map.Entry<String, String> e : props.entrySet()) {
            if (!allowed.contains(e.getKey())) refuse(field + "." + e.getKey(), RefusedDescriptionException.property(e.getKey()));
            if (e.getValue() == null || !VALUE.matcher(e.getValue()).matches())
                refuse(field + "." + e.getKey(), "'" + abbreviate(String.valueOf(e.getValue())) + "' is not a plain value (letters, digits, _ . : + -)");
        }
    }

    private static void id(String field, String id, Set<String> seen) throws RefusedDescriptionException {
        required(field, id);
        matches(field, id, ID);
        if (!seen.add(id)) refuse(field, "'" + id + "' defined twice");
    }

    private static void reference(String field, String ref, Set<String> defined, String what) throws RefusedDescriptionException {
        required(field, ref);
        if (!defined.contains(ref)) refuse(field, "'" + abbreviate(ref) + "' names no " + what + " of the description");
    }

    private static void matches(String field, String v, Pattern p) throws RefusedDescriptionException {
        required(field, v);
        if (!p.matcher(v).matches()) refuse(field, "'" + abbreviate(v) + "' does not match " + p.pattern());
    }

    private static void oneOf(String field, String v, Set<String> allowed) throws RefusedDescriptionException {
        required(field, v);
        if (!allowed.contains(v)) refuse(field, "'" + abbreviate(v) + "' is not one of " + new java.util.TreeSet<>(allowed));
    }

    private static void range(String field, Number v, long min, long max) throws RefusedDescriptionException {
        if (v != null && (v.longValue() < min || v.longValue() > max)) refuse(field, v + " is outside " + min + ".." + max);
    }

    private static void bound(String field, int n, int max) throws RefusedDescriptionException {
        if (n > max) refuse(field, n + " entries, more than " + max);
    }

    private static void required(String field, Object v) throws RefusedDescriptionException {
        if (v == null) refuse(field, "missing");
    }

    private static void refuse(String field, String why) throws RefusedDescriptionException {
        throw new RefusedDescriptionException(field, why);
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
