package io.vmmig.agent.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.vm.VmDescription.Accel;
import io.vmmig.agent.vm.VmDescription.Boot;
import io.vmmig.agent.vm.VmDescription.Chardev;
import io.vmmig.agent.vm.VmDescription.Cpu;
import io.vmmig.agent.vm.VmDescription.Device;
import io.vmmig.agent.vm.VmDescription.Disk;
import io.vmmig.agent.vm.VmDescription.Machine;
import io.vmmig.agent.vm.VmDescription.Memory;
import io.vmmig.agent.vm.VmDescription.Monitor;
import io.vmmig.agent.vm.VmDescription.Netdev;
import io.vmmig.agent.vm.VmDescription.QomObject;
import io.vmmig.agent.vm.VmDescription.Smp;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source side: a running QEMU's command line ({@code /proc/PID/cmdline}) read into a
 * {@link VmDescription}. Understands {@code -blockdev} disks and legacy {@code -drive} disks
 * ({@code if=virtio}, or {@code if=none} used by a {@code -device}), {@code -device} in key=value and JSON
 * form, {@code -netdev}, {@code -chardev}, the monitors ({@code -qmp}, {@code -qmp-pretty}, {@code -monitor},
 * {@code -mon}), {@code -serial}, {@code -object}, machine, accelerator, CPU, SMP, memory, kernel and
 * firmware. One-shot options ({@code -S}, {@code -daemonize}, {@code -pidfile}, {@code -incoming}, ...)
 * are dropped; an option it does not know is an error naming it (nothing is carried unread).
 */
public final class CommandLineDescriber {
    private static final Logger LOG = LoggerFactory.getLogger(CommandLineDescriber.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Options without an argument that the description carries as {@code flags}. */
    private static final Set<String> FLAGS = Set.of("nodefaults", "no-user-config", "no-reboot", "no-shutdown", "no-hpet");
    /** Options that only concern this QEMU process (or that the destination sets itself): dropped, with their argument. */
    private static final Set<String> DROPPED_WITH_ARG = Set.of("pidfile", "incoming", "sandbox", "runas", "chroot", "msg", "D",
            "d", "trace", "overcommit");
    private static final Set<String> DROPPED = Set.of("S", "daemonize");

    private final QemuCommandLine commandLine;
    private final List<VmDisk> moved;
    private final List<String> notMoved;

    private String name;
    private String uuid;
    private Machine machine;
    private Accel accel;
    private Cpu cpu;
    private Smp smp;
    private Memory memory;
    private String kernel;
    private String initrd;
    private String append;
    private String bios;
    private Map<String, String> bootOptions;
    private Map<String, String> rtc;
    private final List<String> flags = new ArrayList<>();
    private String display;
    private String vga;
    private final List<QomObject> objects = new ArrayList<>();
    private final List<Chardev> chardevs = new ArrayList<>();
    private final List<Monitor> monitors = new ArrayList<>();
    private final List<String> serials = new ArrayList<>();
    private final List<Netdev> netdevs = new ArrayList<>();
    private final List<Device> keyValueDevices = new ArrayList<>();
    private final List<Device> implicitDevices = new ArrayList<>();
    private final List<Device> jsonDevices = new ArrayList<>();
    private final Map<String, BlockdevSpec> blockdevs = new LinkedHashMap<>();
    private final Map<String, Map<String, String>> drives = new LinkedHashMap<>();
    private int generated;

    private CommandLineDescriber(QemuCommandLine commandLine, List<VmDisk> moved, List<String> notMoved) {
        this.commandLine = commandLine;
        this.moved = List.copyOf(moved);
        this.notMoved = List.copyOf(notMoved);
    }

    /**
     * The description of the QEMU running {@code commandLine}, whose disks to move (as QMP reports them)
     * are {@code moved}; {@code notMoved} names the others with why ("cd0 (read-only)"), for messages.
     * The description's disks are in the order of the guest devices that use them.
     */
    public static VmDescription describe(QemuCommandLine commandLine, List<VmDisk> moved, List<String> notMoved) throws AgentException {
        return new CommandLineDescriber(commandLine, moved, notMoved).read();
    }

    /** One disk. */
    public static VmDescription describe(QemuCommandLine commandLine, VmDisk disk) throws AgentException {
        return describe(commandLine, List.of(disk), List.of());
    }

    private AgentException refuse(String what) {
        return new AgentException(ErrorKind.ENVIRONMENT, "cannot describe the VM of QEMU pid " + commandLine.pid()
                + " for the destination: " + what);
    }

    private VmDescription read() throws AgentException {
        List<String> argv = commandLine.argv();
        for (int i = 1; i < argv.size(); i++) {
            String raw = argv.get(i);
            if (!raw.startsWith("-")) throw refuse("unexpected argument '" + raw + "'");
            String o = raw.startsWith("--") ? raw.substring(2) : raw.substring(1);
            if (FLAGS.contains(o)) {
                flags.add(o);
                continue;
            }
            if (DROPPED.contains(o)) continue;
            if (o.equals("enable-kvm")) {
                accel = new Accel("kvm", Map.of());
                continue;
            }
            if (o.equals("nographic")) {
                display = "none";
                continue;
            }
            if (i + 1 >= argv.size()) throw refuse("option " + raw + " without its argument");
            String a = argv.get(++i);
            if (DROPPED_WITH_ARG.contains(o)) continue;
            option(raw, o, a);
        }
        List<Device> devices = new ArrayList<>(keyValueDevices);   // QEMU creates key=value devices, then -drive ones, then JSON ones
        devices.addAll(implicitDevices);
        devices.addAll(jsonDevices);
        List<Disk> disks = disks(devices);
        return new VmDescription(VmDescription.SCHEMA, name, uuid, machine, accel, cpu, smp, memory,
                kernel == null && initrd == null && append == null && bios == null && bootOptions == null ? null
                        : new Boot(kernel, initrd, append, bios, bootOptions),
                rtc, flags.isEmpty() ? null : flags, display, vga, nullIfEmpty(objects), nullIfEmpty(chardevs), nullIfEmpty(monitors),
                nullIfEmpty(serials), nullIfEmpty(netdevs), nullIfEmpty(devices), disks);
    }

    private static <T> List<T> nullIfEmpty(List<T> l) {
        return l.isEmpty() ? null : List.copyOf(l);
    }

    private void option(String raw, String o, String a) throws AgentException {
        switch (o) {
            case "name" -> name = options(a, "guest").get("guest");
            case "uuid" -> uuid = a;
            case "machine", "M" -> {
                Map<String, String> m = options(a, "type");
                String acc = m.remove("accel");
                if (acc != null) accel = new Accel(acc, Map.of());
                machine = new Machine(m.remove("type"), m.isEmpty() ? null : m);
            }
            case "accel" -> {
                Map<String, String> m = options(a, "accel");
                String type = m.remove("accel");
                accel = new Accel(type, m.isEmpty() ? null : m);
            }
            case "cpu" -> {
                List<String> parts = BlockdevSpec.splitOptions(a);
                cpu = new Cpu(parts.get(0), parts.size() > 1 ? List.copyOf(parts.subList(1, parts.size())) : null);
            }
            case "smp" -> {
                Map<String, String> m = options(a, "cpus");
                smp = new Smp(integer(raw, m.remove("cpus")), integer(raw, m.remove("sockets")), integer(raw, m.remove("cores")),
                        integer(raw, m.remove("threads")), integer(raw, m.remove("maxcpus")));
                if (!m.isEmpty()) throw refuse(raw + " " + a + ": unknown " + m.keySet());
            }
            case "m" -> {
                Map<String, String> m = options(a, "size");
                String size = m.remove("size");
                String maxmem = m.remove("maxmem");
                Long kib = size == null ? null : kibibytes(raw, size);
                Long maxKib = maxmem == null ? null : kibibytes(raw, maxmem);
                if (maxKib != null && maxKib % 1024 != 0) throw refuse(raw + " " + a + ": maxmem '" + maxmem + "' is not a whole number of MiB");
                boolean wholeMib = kib == null || kib % 1024 == 0;
                memory = new Memory(kib == null || !wholeMib ? null : kib / 1024, integer(raw, m.remove("slots")),
                        maxKib == null ? null : maxKib / 1024, wholeMib ? null : kib);
                if (!m.isEmpty()) throw refuse(raw + " " + a + ": unknown " + m.keySet());
            }
            case "kernel" -> kernel = a;
            case "initrd" -> initrd = a;
            case "append" -> append = a;
            case "bios" -> bios = a;
            case "boot" -> bootOptions = options(a, "order");
            case "rtc" -> rtc = options(a, "base");
            case "display" -> {
                Map<String, String> m = options(a, "type");
                display = m.get("type");
                if (m.size() > 1) throw refuse(raw + " " + a + ": vmmig carries '-display none' only");
            }
            case "vga" -> vga = a;
            case "object" -> {
                Map<String, String> m = a.startsWith("{") ? jsonOptions(raw, a) : options(a, "qom-type");
                String type = m.remove("qom-type");
                String id = m.remove("id");
                objects.add(new QomObject(type, id, m.isEmpty() ? null : m));
            }
            case "chardev" -> {
                Map<String, String> m = options(a, "backend");
                chardevs.add(chardev(raw, m.remove("id"), m.remove("backend"), m));
            }
            case "qmp", "qmp-pretty", "monitor" -> monitor(raw, a, o.equals("monitor") ? "readline" : "control", o.equals("qmp-pretty"));
            case "mon" -> {
                Map<String, String> m = options(a, "chardev");
                String mode = m.getOrDefault("mode", "readline");
                monitors.add(new Monitor(m.get("chardev"), mode, m.containsKey("pretty") ? onOff(raw, m.get("pretty")) : null));
            }
            case "serial" -> serial(raw, a);
            case "netdev" -> {
                Map<String, String> m = options(a, "type");
                String type = m.remove("type");
                String id = m.remove("id");
                String script = m.remove("script");
                if (script != null && !script.equals("no") || type.equals("tap") && script == null)
                    LOG.warn("netdev {}: the destination never runs a tap script (it starts QEMU with script=no): its tap {}"
                            + " must be set up there", id, m.get("ifname"));
                m.remove("downscript");
                Netdev n = new Netdev(id, type, m.remove("ifname"), m.remove("br"), m.containsKey("vhost") ? onOff(raw, m.remove("vhost")) : null);
                if (!m.isEmpty())
                    throw refuse(raw + " " + a + ": vmmig's description carries a netdev's type, id, ifname, br and vhost, not "
                            + m.keySet());
                netdevs.add(n);
            }
            case "device" -> {
                if (a.startsWith("{")) jsonDevices.add(jsonDevice(raw, a));
                else {
                    Map<String, String> m = options(a, "driver");
                    String driver = m.remove("driver");
                    String id = m.remove("id");
                    keyValueDevices.add(new Device(driver, id, new LinkedHashMap<>(m)));
                }
            }
            case "blockdev" -> {
                BlockdevSpec b;
                try {
                    b = BlockdevSpec.parse(a);
                } catch (IllegalArgumentException e) {
                    throw refuse(e.getMessage());
                }
                if (b.nodeName() == null) throw refuse(raw + " " + a + ": a -blockdev without node-name");
                blockdevs.put(b.nodeName(), b);
            }
            case "drive" -> drive(raw, a);
            default -> throw refuse("option " + raw + " (" + a + ") is not in what vmmig can carry to the destination"
                    + " (VM description schema " + VmDescription.SCHEMA + ")");
        }
    }

    private Chardev chardev(String raw, String id, String backend, Map<String, String> m) throws AgentException {
        String path = m.remove("path");
        Boolean server = m.containsKey("server") ? onOff(raw, m.remove("server")) : null;
        Boolean wait = m.containsKey("wait") ? onOff(raw, m.remove("wait")) : null;
        m.remove("logappend");
        if ("socket".equals(backend) && path == null)
            throw refuse(raw + " " + id + ": a TCP or fd chardev; vmmig carries UNIX socket, pty, null and file chardevs");
        if (!m.isEmpty()) throw refuse(raw + " " + id + ": vmmig's description carries id, path, server and wait, not " + m.keySet());
        return new Chardev(id, backend, path, server, wait);
    }

    /** {@code -qmp unix:/path,server=on,wait=off} and friends; other monitor addresses stay behind. */
    private void monitor(String raw, String a, String mode, boolean pretty) throws AgentException {
        if (!a.startsWith("unix:")) {
            LOG.info("{} {}: not a UNIX socket monitor, not carried to the destination", raw, a);
            return;
        }
        Map<String, String> m = options(a.substring(5), "path");
        String id = "vmmig-user-mon" + generated++;
        chardevs.add(chardev(raw, id, "socket", m));
        monitors.add(new Monitor(id, mode, pretty ? Boolean.TRUE : null));
    }

    private void serial(String raw, String a) throws AgentException {
        if (a.startsWith("chardev:")) serials.add(a.substring(8));
        else if (a.equals("none")) return;
        else if (a.equals("null") || a.equals("pty")) {
            String id = "vmmig-serial" + generated++;
            chardevs.add(new Chardev(id, a, null, null, null));
            serials.add(id);
        } else if (a.startsWith("unix:")) {
            String id = "vmmig-serial" + generated++;
            chardevs.add(chardev(raw, id, "socket", options(a.substring(5), "path")));
            serials.add(id);
        } else {
            throw refuse(raw + " " + a + ": the destination QEMU has no terminal; use a socket, pty or null serial");
        }
    }

    private void drive(String raw, String a) throws AgentException {
        Map<String, String> m = options(a, "file");
        String iface = m.getOrDefault("if", "ide");
        if (m.containsKey("media") && m.get("media").equals("cdrom"))
            throw refuse(raw + " " + a + ": a CD-ROM (not moved: read-only); vmmig cannot carry a disk it does not move yet,"
                    + " eject or remove CD-ROMs first");
        if (!iface.equals("virtio") && !iface.equals("none"))
            throw refuse(raw + " " + a + ": if=" + iface + " creates a device vmmig cannot name; use if=virtio, or if=none with a -device");
        String id = m.get("id");
        if (id == null) {
            if (iface.equals("none")) throw refuse(raw + " " + a + ": an if=none drive without id");
            int index = m.containsKey("index") ? integer(raw, m.get("index")) : (int) drives.values().stream()
                    .filter(d -> "virtio".equals(d.get("if"))).count();
            id = "virtio" + index;
            m.put("id", id);
        }
        m.putIfAbsent("if", iface);
        drives.put(id, m);
        if (iface.equals("virtio")) {
            Map<String, Object> props = new LinkedHashMap<>();
            props.put("drive", id);
            implicitDevices.add(new Device("virtio-blk-pci", null, props));
        }
    }

    /** The disks: every block root a device uses; one only, the one QMP named. */
    private List<Disk> disks(List<Device> devices) throws AgentException {
        Map<String, String> used = new LinkedHashMap<>();   // drive (node or drive id) -> device for messages
        for (Device d : devices) {
            Object drive = d.props() == null ? null : d.props().get("drive");
            if (drive == null) continue;
            String node = drive.toString();
            if (!blockdevs.containsKey(node) && !drives.containsKey(node))
                throw refuse("device " + (d.id() == null ? d.driver() : d.id()) + " uses drive=" + node
                        + ", which no -blockdev node-name or -drive id defines");
            used.put(node, (d.id() == null ? d.driver() : d.id()));
        }
        Set<String> chainOfUsed = new LinkedHashSet<>();
        for (String root : used.keySet()) chainOfUsed.addAll(chain(root));
        for (String n : blockdevs.keySet())
            if (!chainOfUsed.contains(n))
                throw refuse("-blockdev node " + n + " is used by no guest device; vmmig carries only the guest's disk");
        for (Map.Entry<String, Map<String, String>> d : drives.entrySet())
            if (!used.containsKey(d.getKey()))
                throw refuse("-drive " + d.getKey() + " is used by no guest device");
        List<Disk> out = new ArrayList<>();
        Set<VmDisk> matched = new LinkedHashSet<>();
        for (Map.Entry<String, String> e : used.entrySet()) {
            String node = e.getKey();
            VmDisk k = moved(node);
            if (k == null)
                throw refuse("device " + e.getValue() + " uses " + node + " (" + fileOf(node) + "), which vmmig does not move"
                        + (notMoved.isEmpty() ? "" : " (not moved: " + String.join(", ", notMoved) + ")")
                        + ", and the destination QEMU would need it too: vmmig cannot carry a disk it does not move yet;"
                        + " eject or detach it first");
            matched.add(k);
            out.add(new Disk(node, k.format(), k.virtualSize(), k.image()));
        }
        for (VmDisk k : moved)
            if (!matched.contains(k))
                throw refuse("QEMU reports disk " + k.device() + " (node " + k.node() + ", " + k.image()
                        + ") but no device on its command line uses it (hot-plugged?)");
        if (out.isEmpty()) throw refuse("no guest device uses a disk");
        return out;
    }

    /** The moved disk a device's {@code drive=} names: a -blockdev node QMP reports, or a -drive id (QMP's device name). */
    private VmDisk moved(String drive) {
        for (VmDisk k : moved) {
            if (blockdevs.containsKey(drive) && drive.equals(k.node())) return k;
            // a -drive: QMP names its device after the drive id; the file tells it too
            if (drives.containsKey(drive) && (drive.equals(k.device()) || k.image().equals(drives.get(drive).get("file")))) return k;
        }
        return null;
    }

    private Set<String> chain(String root) {
        Set<String> out = new LinkedHashSet<>();
        List<String> todo = new ArrayList<>(List.of(root));
        while (!todo.isEmpty()) {
            String n = todo.remove(todo.size() - 1);
            BlockdevSpec b = blockdevs.get(n);
            if (b != null && out.add(n)) todo.addAll(b.children());
        }
        return out;
    }

    private String fileOf(String node) {
        Map<String, String> d = drives.get(node);
        if (d != null) return d.getOrDefault("file", "?");
        for (String n : chain(node)) {
            String f = blockdevs.get(n).filename();
            if (f != null) return f;
        }
        return "?";
    }

    private Device jsonDevice(String raw, String a) throws AgentException {
        JsonNode n = readJson(raw, a);
        Map<String, Object> props = new LinkedHashMap<>();
        String driver = null;
        String id = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            switch (e.getKey()) {
                case "driver" -> driver = v.asText();
                case "id" -> id = v.asText();
                default -> {
                    if (v.isTextual()) props.put(e.getKey(), v.asText());
                    else if (v.isBoolean()) props.put(e.getKey(), v.asBoolean());
                    else if (v.isIntegralNumber()) props.put(e.getKey(), v.asLong());
                    else throw refuse(raw + " " + a + ": property " + e.getKey() + " is " + v.getNodeType());
                }
            }
        }
        return new Device(driver, id, props);
    }

    private Map<String, String> jsonOptions(String raw, String a) throws AgentException {
        JsonNode n = readJson(raw, a);
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getValue().isContainerNode()) throw refuse(raw + " " + a + ": nested value of " + e.getKey());
            m.put(e.getKey(), e.getValue().asText());
        }
        return m;
    }

    private JsonNode readJson(String raw, String a) throws AgentException {
        try {
            JsonNode n = JSON.readTree(a);
            if (!n.isObject()) throw refuse(raw + " " + a + ": not a JSON object");
            return n;
        } catch (IOException e) {
            throw refuse(raw + " " + a + ": unreadable JSON");
        }
    }

    /**
     * QEMU's {@code a,b=c,d} option syntax ({@code ,,} is a comma): a leading value without {@code =}
     * is {@code implied}; a later bare {@code x} means {@code x=on} and {@code nox} means {@code x=off}.
     */
    static Map<String, String> options(String arg, String implied) {
        Map<String, String> m = new LinkedHashMap<>();
        List<String> parts = BlockdevSpec.splitOptions(arg);
        for (int i = 0; i < parts.size(); i++) {
            String kv = parts.get(i);
            int eq = kv.indexOf('=');
            if (eq >= 0) m.put(kv.substring(0, eq), kv.substring(eq + 1));
            else if (i == 0 && implied != null) m.put(implied, kv);
            else if (kv.startsWith("no") && kv.length() > 2) m.put(kv.substring(2), "off");
            else if (!kv.isEmpty()) m.put(kv, "on");
        }
        return m;
    }

    private Integer integer(String raw, String v) throws AgentException {
        if (v == null) return null;
        try {
            return Integer.valueOf(v);
        } catch (NumberFormatException e) {
            throw refuse(raw + ": '" + v + "' is not a number");
        }
    }

    private boolean onOff(String raw, String v) throws AgentException {
        return switch (v) {
            case "on", "yes", "true" -> true;
            case "off", "no", "false" -> false;
            default -> throw refuse(raw + ": '" + v + "' is not on or off");
        };
    }

    /** A QEMU size ({@code 256}, {@code 256M}, {@code 1G}, {@code 262152K}; no suffix means MiB) in KiB, exactly. */
    private long kibibytes(String raw, String v) throws AgentException {
        try {
            char unit = Character.toUpperCase(v.charAt(v.length() - 1));
            if (Character.isDigit(unit)) return Math.multiplyExact(Long.parseLong(v), 1024L);
            long n = Long.parseLong(v.substring(0, v.length() - 1));
            return switch (unit) {
                case 'K' -> n;
                case 'M' -> Math.multiplyExact(n, 1024L);
                case 'G' -> Math.multiplyExact(n, 1024L * 1024);
                case 'T' -> Math.multiplyExact(n, 1024L * 1024 * 1024);
                default -> throw refuse(raw + ": bad size '" + v + "'");
            };
        } catch (NumberFormatException | IndexOutOfBoundsException | ArithmeticException e) {
            throw refuse(raw + ": bad size '" + v + "'");
        }
    }
}
