package io.vmmig.agent.vm;

import io.vmmig.agent.config.QemuPolicy;
import io.vmmig.agent.vm.VmDescription.Chardev;
import io.vmmig.agent.vm.VmDescription.Device;
import io.vmmig.agent.vm.VmDescription.Monitor;
import io.vmmig.agent.vm.VmDescription.Netdev;
import io.vmmig.agent.vm.VmDescription.QomObject;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The destination QEMU's arguments (without the binary, vmmig's own {@code -qmp} and {@code -incoming},
 * which {@code DestinationQemu} adds), built only from a description {@link DescriptionValidator} passed:
 * every option is written here from typed fields, so no text of the peer reaches QEMU's option parser
 * except checked values. Adds the strategy's disk {@code -blockdev}s, {@code share-rw=on} on the disk's
 * device (the agent opens the image beside QEMU until the pivot), taps with {@code script=no,downscript=no},
 * {@code -display none}, and the confinement: {@value #SANDBOX} and, when configured, {@code -runas USER}.
 */
public final class DestinationCommandLine {
    /** The seccomp filter every destination QEMU runs under. */
    public static final String SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";
    /**
     * With {@code -runas}: QEMU 7.2 changes its uid after installing the filter, so {@code elevateprivileges=deny}
     * kills it (SIGSYS, tested); the change to an unprivileged uid is irreversible and {@code spawn=deny} still
     * forbids running any (setuid) program.
     */
    public static final String SANDBOX_RUNAS = "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny";

    private DestinationCommandLine() {
    }

    /**
     * Leaves out the user's monitors whose socket cannot be served here: outside allowed.chardev-dirs, in a
     * directory that does not exist, or where a live socket already is (another QEMU's, e.g. the source's on
     * the same host: QEMU would unlink it). The rest of the description is left as it is, for the validator.
     */
    public static Placed placeMonitors(VmDescription d, QemuPolicy policy) {
        if (d.monitors() == null || d.chardevs() == null) return new Placed(d, List.of());
        Map<String, Chardev> chardevs = new LinkedHashMap<>();
        for (Chardev c : d.chardevs()) if (c != null && c.id() != null) chardevs.put(c.id(), c);
        List<Monitor> kept = new ArrayList<>();
        Set<String> droppedChardevs = new HashSet<>();
        List<String> notes = new ArrayList<>();
        for (Monitor m : d.monitors()) {
            Chardev c = m == null ? null : chardevs.get(m.chardev());
            String why = c == null || !"socket".equals(c.backend()) || c.path() == null ? null : unservable(c.path(), policy);
            if (why == null) {
                kept.add(m);
            } else {
                droppedChardevs.add(c.id());
                notes.add(c.path() + ": " + why);
            }
        }
        if (notes.isEmpty()) return new Placed(d, List.of());
        List<Chardev> keptChardevs = d.chardevs().stream().filter(c -> c == null || !droppedChardevs.contains(c.id())).toList();
        VmDescription placed = new VmDescription(d.schema(), d.name(), d.uuid(), d.machine(), d.accel(), d.cpu(), d.smp(), d.memory(),
                d.boot(), d.rtc(), d.flags(), d.display(), d.vga(), d.objects(), keptChardevs, kept.isEmpty() ? null : kept,
                d.serials(), d.netdevs(), d.devices(), d.disks());
        return new Placed(placed, notes);
    }

    /** A description with the monitors that can be served here, and notes on those that cannot. */
    public record Placed(VmDescription description, List<String> droppedMonitors) {}

    private static String unservable(String path, QemuPolicy policy) {
        Path p;
        try {
            p = Path.of(path);
        } catch (RuntimeException e) {
            return null;   // the validator names it
        }
        if (!p.isAbsolute() || p.getParent() == null) return null;
        Path parent;
        try {
            parent = p.getParent().toRealPath();
        } catch (IOException e) {
            return "its directory does not exist here";
        }
        boolean allowed = false;
        for (Path dir : policy.chardevDirs()) {
            try {
                if (parent.startsWith(dir.toRealPath())) allowed = true;
            } catch (IOException e) {
                // a missing allowed directory allows nothing
            }
        }
        if (!allowed) return "outside allowed.chardev-dirs " + policy.chardevDirs();
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(p) && live(p))
            return "a live socket is there already (another QEMU's; the same host as the source?)";
        return null;
    }

    private static boolean live(Path socket) {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The arguments for a validated {@code d}, with the strategy's {@code diskBlockdevArgs}. */
    public static List<String> build(VmDescription d, QemuPolicy policy, List<String> diskBlockdevArgs) {
        List<String> a = new ArrayList<>();
        if (d.name() != null) add(a, "-name", "guest=" + d.name());
        if (d.uuid() != null) add(a, "-uuid", d.uuid());
        if (d.machine() != null) {
            Opts o = new Opts();
            if (d.machine().type() != null) o.put("type", d.machine().type());
            o.putAll(d.machine().props());
            if (!o.isEmpty()) add(a, "-machine", o.toString());
        }
        if (d.accel() != null) add(a, "-accel", new Opts().first(d.accel().type()).putAll(d.accel().props()).toString());
        if (d.cpu() != null) {
            StringJoiner j = new StringJoiner(",");
            j.add(d.cpu().model());
            if (d.cpu().flags() != null) d.cpu().flags().forEach(j::add);
            add(a, "-cpu", j.toString());
        }
        if (d.smp() != null)
            add(a, "-smp", new Opts().put("cpus", d.smp().cpus()).put("sockets", d.smp().sockets()).put("cores", d.smp().cores())
                    .put("threads", d.smp().threads()).put("maxcpus", d.smp().maxcpus()).toString());
        if (d.memory() != null)
            add(a, "-m", new Opts().put("size", d.memory().qemuSize()).put("slots", d.memory().slots())
                    .put("maxmem", d.memory().maxMib() == null ? null : d.memory().maxMib() + "M").toString());
        if (d.objects() != null)
            for (QomObject o : d.objects()) add(a, "-object", new Opts().first(o.qomType()).put("id", o.id()).putAll(o.props()).toString());
        if (d.boot() != null) {
            if (d.boot().kernel() != null) add(a, "-kernel", d.boot().kernel());
            if (d.boot().initrd() != null) add(a, "-initrd", d.boot().initrd());
            if (d.boot().append() != null) add(a, "-append", d.boot().append());
            if (d.boot().bios() != null) add(a, "-bios", d.boot().bios());
            if (d.boot().options() != null) add(a, "-boot", new Opts().putAll(d.boot().options()).toString());
        }
        if (d.rtc() != null) add(a, "-rtc", new Opts().putAll(d.rtc()).toString());
        if (d.flags() != null) for (String f : d.flags()) a.add("-" + f);
        add(a, "-display", "none");
        if (d.vga() != null) add(a, "-vga", d.vga());
        if (d.chardevs() != null)
            for (Chardev c : d.chardevs())
                add(a, "-chardev", new Opts().first(c.backend()).put("id", c.id()).put("path", c.path()).put("server", c.server())
                        .put("wait", c.waitForClient()).toString());
        if (d.monitors() != null)
            for (Monitor m : d.monitors())
                add(a, "-mon", new Opts().put("chardev", m.chardev()).put("mode", m.mode()).put("pretty", m.pretty()).toString());
        if (d.serials() != null) for (String s : d.serials()) add(a, "-serial", "chardev:" + s);
        if (d.netdevs() != null)
            for (Netdev n : d.netdevs()) {
                Opts o = new Opts().first(n.type()).put("id", n.id());
                if (n.type().equals("tap")) o.put("ifname", n.ifname()).put("script", "no").put("downscript", "no").put("vhost", n.vhost());
                add(a, "-netdev", o.toString());
            }
        if (d.devices() != null)
            for (Device dev : d.devices()) {
                Opts o = new Opts().first(dev.driver()).put("id", dev.id());
                Map<String, Object> props = dev.props() == null ? Map.of() : dev.props();
                for (Map.Entry<String, Object> e : props.entrySet()) if (!e.getKey().equals("share-rw")) o.put(e.getKey(), e.getValue());
                if (props.containsKey("drive")) o.put("share-rw", "on");
                else if (props.containsKey("share-rw")) o.put("share-rw", props.get("share-rw"));
                add(a, "-device", o.toString());
            }
        a.addAll(diskBlockdevArgs);
        add(a, "-sandbox", policy.runas() == null ? SANDBOX : SANDBOX_RUNAS);
        if (policy.runas() != null) add(a, "-runas", policy.runas());
        return a;
    }

    private static void add(List<String> a, String option, String value) {
        a.add(option);
        a.add(value);
    }

    /** QEMU's {@code a,k=v} syntax from checked values (booleans as on/off; nulls left out). */
    private static final class Opts {
        private final StringJoiner j = new StringJoiner(",");
        private boolean empty = true;

        Opts first(String v) {
            j.add(v);
            empty = false;
            return this;
        }

        Opts put(String k, Object v) {
            if (v == null) return this;
            j.add(k + "=" + (v instanceof Boolean b ? (b ? "on" : "off") : v.toString()));
            empty = false;
            return this;
        }

        Opts putAll(Map<String, String> m) {
            if (m != null) m.forEach(this::put);
            return this;
        }

        boolean isEmpty() {
            return empty;
        }

        @Override
        public String toString() {
            return j.toString();
        }
    }
}
