package io.vmmig.agent.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.agent.config.QemuPolicy;
import io.vmmig.agent.control.ErrorKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.statistics.Histogram;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.statistics.StatisticsReport;

/**
 * Property test of the destination's reader + validator + builder on mutated descriptions (fields set
 * to hostile strings, numbers, nulls, containers; fields added and removed anywhere in the tree), with
 * shrinking to the smallest failing mutation list. For every input: the outcome is either a
 * {@link RefusedDescriptionException} of kind REFUSED naming a field, or a command line in which every
 * option was written by the builder (no peer text reaches QEMU's option parser unchecked).
 */
class DescriptionValidatorPropertiesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path root;
    private static Path boot;
    private static Path vms;
    private static QemuPolicy policy;
    private static String good;

    private static void dirs() throws IOException {
        root = Files.createTempDirectory("vmdesc-prop");
        boot = Files.createDirectories(root.resolve("boot"));
        vms = Files.createDirectories(root.resolve("vms"));
        Files.writeString(boot.resolve("vmlinuz"), "k");
        policy = new QemuPolicy(List.of(boot), List.of(vms), List.of("vnet*"), null);
        good = ("""
                {"schema":1,"name":"web1","machine":{"type":"pc","props":{"usb":"off"}},"accel":{"type":"tcg"},
                 "cpu":{"model":"max","flags":["+x2apic"]},"smp":{"cpus":2},"memory":{"sizeMib":256},
                 "boot":{"kernel":"BOOT/vmlinuz","append":"console=ttyS0"},"flags":["nodefaults"],
                 "objects":[{"qomType":"rng-random","id":"rng0","props":{"filename":"/dev/urandom"}}],
                 "chardevs":[{"id":"ser0","backend":"socket","path":"VMS/serial.sock"},{"id":"m0","backend":"socket","path":"VMS/q.sock","server":true,"wait":false}],
                 "monitors":[{"chardev":"m0","mode":"control"}],"serials":["ser0"],
                 "netdevs":[{"id":"n0","type":"tap","ifname":"vnet3"},{"id":"n1","type":"user"}],
                 "devices":[{"driver":"virtio-net-pci","id":"net0","props":{"netdev":"n0","mac":"52:54:00:12:34:56"}},
                            {"driver":"virtio-rng-pci","props":{"rng":"rng0"}},
                            {"driver":"virtio-blk-pci","id":"vda","props":{"drive":"disk0","bootindex":1}}],
                 "disks":[{"node":"disk0","format":"qcow2","virtualSize":67108864}]}
                """).replace("BOOT", boot.toString()).replace("VMS", vms.toString());
    }

    @AfterContainer
    static void clean() throws IOException {
        try (var s = Files.walk(root)) {
            s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        }
    }

    /** One change: at the {@code target}-th container of the tree, set (or remove) field/element {@code key} to {@code value}. */
    record Mutation(int target, String key, JsonNode value, boolean remove) {}

    @Provide
    Arbitrary<List<Mutation>> mutations() {
        Arbitrary<String> keys = Arbitraries.oneOf(
                Arbitraries.of("script", "downscript", "helper", "mem-path", "add-fd", "plugin", "path", "filename", "romfile", "type",
                        "driver", "backend", "ifname", "id", "props", "chardev", "netdev", "drive", "mode", "node", "format", "schema",
                        "kernel", "server", "wait", "sizeMib", "cpus", "qomType", "bridge", "vhost", "0", "1", "2"),
                Arbitraries.strings().withChars("abz-_.,=/").ofMinLength(1).ofMaxLength(6));
        Arbitrary<JsonNode> values = values();
        return Combinators.combine(Arbitraries.integers().between(0, 60), keys, values, Arbitraries.of(false, false, false, true))
                .as(Mutation::new).list().ofMinSize(1).ofMaxSize(4);
    }

    private static Arbitrary<JsonNode> values() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        Arbitrary<JsonNode> strings = Arbitraries.oneOf(
                Arbitraries.of("/etc/shadow", "", "on", "off", "tap", "user", "bridge", "file", "exec", "socket", "pty", "null",
                        "memory-backend-file", "vfio-pci", "virtio-blk-pci", "disk0", "n0", "ser0", "rng0", "m0", "vnet9", "eth0",
                        "x,script=/bin/sh", "a=b", "../../etc", "\n", "control", "readline", "qcow2", "raw",
                        "VMS/new.sock", "VMS/../x.sock", "BOOT/vmlinuz", "BOOT/missing")
                        .map(s -> s.replace("VMS", vms.toString()).replace("BOOT", boot.toString())),
                Arbitraries.strings().ofMaxLength(12)).map(f::textNode);
        Arbitrary<JsonNode> numbers = Arbitraries.oneOf(Arbitraries.of(-1L, 0L, 1L, 2L, 1024L, Long.MAX_VALUE, Long.MIN_VALUE)
                .map(f::numberNode), Arbitraries.of(1.5, -0.0).map(f::numberNode));
        Arbitrary<JsonNode> scalars = Arbitraries.oneOf(strings, numbers, Arbitraries.of(f.booleanNode(true), f.booleanNode(false), f.nullNode()));
        Arbitrary<JsonNode> containers = Arbitraries.of(0, 1, 2).flatMap(kind -> switch (kind) {
            case 0 -> scalars.list().ofMaxSize(3).map(l -> {
                ArrayNode a = f.arrayNode();
                l.forEach(a::add);
                return (JsonNode) a;
            });
            case 1 -> Combinators.combine(Arbitraries.of("id", "driver", "type", "x", "path"), scalars).as((k, v) -> {
                ObjectNode o = f.objectNode();
                o.set(k, v);
                return (JsonNode) o;
            });
            default -> Arbitraries.just(f.objectNode());
        });
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, scalars), net.jqwik.api.Tuple.of(1, containers));
    }

    @Property(tries = 3000)
    @StatisticsReport(format = Histogram.class)
    void everyDescriptionIsRefusedByNameOrBuiltIntoCheckedOptions(@ForAll("mutations") List<Mutation> mutations) throws Exception {
        // mutations must also reach the builder, not only the refusals (about 17 % do)
        Statistics.coverage(c -> c.check("accepted").percentage(p -> p >= 5.0));
        JsonNode d = JSON.readTree(good);
        for (Mutation m : mutations) apply(d, m);
        VmDescription read;
        try {
            read = VmDescription.read(d);
            read = DestinationCommandLine.placeMonitors(read, policy).description();
            new DescriptionValidator(policy).check(read, java.util.List.of("disk0"), java.util.List.of("qcow2"));
        } catch (RefusedDescriptionException e) {
            assertEquals(ErrorKind.REFUSED, e.kind());
            assertFalse(e.option().isEmpty());
            assertTrue(e.getMessage().startsWith("the destination refused the VM description: " + e.option() + ": "), e.getMessage());
            Statistics.collect("refused");
            return;
        }
        Statistics.collect("accepted");
        assertBuiltFromCheckedOptions(DestinationCommandLine.build(read, policy, List.of("-blockdev", "{\"node-name\":\"disk0\"}")));
    }

    private static final Set<String> OPTIONS = Set.of("-name", "-uuid", "-machine", "-accel", "-cpu", "-smp", "-m", "-object", "-kernel",
            "-initrd", "-append", "-bios", "-boot", "-rtc", "-nodefaults", "-no-user-config", "-no-reboot", "-no-shutdown", "-no-hpet",
            "-display", "-vga", "-chardev", "-mon", "-serial", "-netdev", "-device", "-blockdev", "-sandbox", "-runas");
    private static final Set<String> NO_ARG = Set.of("-nodefaults", "-no-user-config", "-no-reboot", "-no-shutdown", "-no-hpet");

    private static void assertBuiltFromCheckedOptions(List<String> args) {
        for (int i = 0; i < args.size(); i++) {
            String o = args.get(i);
            assertTrue(OPTIONS.contains(o), "option " + o + " in " + args);
            if (NO_ARG.contains(o)) continue;
            String v = args.get(++i);
            List<String> parts = BlockdevSpec.splitOptions(v);
            switch (o) {
                case "-device" -> {
                    assertTrue(DescriptionValidator.DRIVERS.contains(parts.get(0)), v);
                    for (String kv : parts.subList(1, parts.size())) {
                        String k = kv.substring(0, kv.indexOf('='));
                        assertTrue(k.equals("id") || DescriptionValidator.DEVICE_PROPS.contains(k), "device property " + k + " in " + v);
                        assertFalse(kv.startsWith("romfile=") && !kv.equals("romfile="), v);
                    }
                }
                case "-netdev" -> {
                    assertTrue(parts.get(0).equals("tap") || parts.get(0).equals("user"), v);
                    if (parts.get(0).equals("tap")) assertTrue(parts.contains("script=no") && parts.contains("downscript=no"), v);
                    for (String kv : parts) assertFalse(kv.startsWith("helper=") || kv.startsWith("fd") || kv.startsWith("vhostfd"), v);
                }
                case "-chardev" -> {
                    assertTrue(DescriptionValidator.CHARDEV_BACKENDS.contains(parts.get(0)), v);
                    for (String kv : parts) if (kv.startsWith("path=")) assertTrue(Path.of(kv.substring(5)).startsWith(vms), v);
                }
                case "-object" -> {
                    assertTrue(DescriptionValidator.OBJECTS.containsKey(parts.get(0)), v);
                    assertFalse(v.contains("mem-path"), v);
                }
                case "-kernel", "-initrd", "-bios" -> assertTrue(Path.of(v).startsWith(boot), v);
                case "-blockdev" -> assertEquals("{\"node-name\":\"disk0\"}", v, "only the strategy's disk nodes");
                case "-sandbox" -> assertEquals(DestinationCommandLine.SANDBOX, v);
                default -> assertFalse(v.contains("\n"), v);
            }
        }
        assertTrue(args.contains("-sandbox"), "always sandboxed: " + args);
    }

    /** Applies {@code m} to the {@code m.target % n}-th container node (pre-order) of {@code root}. */
    private static void apply(JsonNode root, Mutation m) {
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        JsonNode target = containers.get(m.target() % containers.size());
        if (target instanceof ObjectNode o) {
            if (m.remove()) {
                Iterator<String> names = o.fieldNames();
                List<String> all = new ArrayList<>();
                names.forEachRemaining(all::add);
                if (!all.isEmpty()) o.remove(all.get(Math.abs(m.key().hashCode()) % all.size()));
            } else {
                o.set(m.key(), m.value().deepCopy());   // a copy: jqwik hands the same node to later tries
            }
        } else if (target instanceof ArrayNode a) {
            int i = a.isEmpty() ? 0 : Math.abs(m.key().hashCode()) % a.size();
            if (m.remove() && !a.isEmpty()) a.remove(i);
            else if (a.isEmpty() || m.key().length() % 2 == 0) a.add(m.value().deepCopy());
            else a.set(i, m.value().deepCopy());
        }
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (!n.isContainerNode()) return;
        out.add(n);
        if (n.isObject()) n.fields().forEachRemaining((Map.Entry<String, JsonNode> e) -> collect(e.getValue(), out));
        else n.forEach(c -> collect(c, out));
    }

    static {
        // the good description itself passes: a property that only ever saw refusals would prove little
        try {
            dirs();
            new DescriptionValidator(policy).check(VmDescription.read(JSON.readTree(good)), java.util.List.of("disk0"), java.util.List.of("qcow2"));
        } catch (Exception e) {
            throw new IllegalStateException("the unmutated description must pass", e);
        }
    }
}
