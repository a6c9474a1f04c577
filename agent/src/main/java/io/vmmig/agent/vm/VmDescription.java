package io.vmmig.agent.vm;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.List;
import java.util.Map;

/**
 * What a VM is, as the source agent sends it in the PREPARE (field {@code description}) instead of a
 * command line: the destination validates it ({@link DescriptionValidator}) and builds its QEMU command
 * line from it ({@link DestinationCommandLine}). Schema {@value #SCHEMA}, JSON, field names as below;
 * null fields are left out. A reader refuses a schema it does not know and any field it does not know
 * (naming it): nothing in a description is passed through to QEMU unread.
 *
 * <pre>
 * {"schema":1, "name":"web1", "uuid":null,
 *  "machine":{"type":"pc-q35-7.2","props":{"usb":"off"}},
 *  "accel":{"type":"tcg","props":{"thread":"multi"}},
 *  "cpu":{"model":"max","flags":["+x2apic"]},
 *  "smp":{"cpus":2,"sockets":1,"cores":2,"threads":1,"maxcpus":null},
 *  "memory":{"sizeMib":256,"slots":null,"maxMib":null},   (or {"sizeKib":262152,...}: not a whole MiB)
 *  "boot":{"kernel":"/var/lib/vmmig/boot/vmlinuz","initrd":"...","append":"console=ttyS0","options":{"strict":"on"}},
 *  "rtc":{"base":"utc"},
 *  "flags":["nodefaults","no-user-config","no-reboot"], "display":"none", "vga":null,
 *  "objects":[{"qomType":"rng-random","id":"rng0","props":{"filename":"/dev/urandom"}}],
 *  "chardevs":[{"id":"ser0","backend":"socket","path":"/run/vms/web1/serial.sock","server":false,"wait":null}],
 *  "monitors":[{"chardev":"user-qmp0","mode":"control","pretty":false}],
 *  "serials":["ser0"],
 *  "netdevs":[{"id":"n0","type":"tap","ifname":"vnet3"}],
 *  "devices":[{"driver":"virtio-net-pci","id":"net0","props":{"netdev":"n0","mac":"52:54:00:12:34:56"}},
 *             {"driver":"virtio-blk-pci","id":"vda","props":{"drive":"disk0"}}],
 *  "disks":[{"node":"disk0","format":"qcow2","virtualSize":67108864,"image":"/var/lib/vms/web1.qcow2"}]}
 * </pre>
 *
 * Devices are in the order QEMU created them at the source (PCI slots follow it). A disk's guest device
 * is the device whose {@code drive} names the disk's node; the destination strategy defines that node.
 */
public record VmDescription(int schema, String name, String uuid, Machine machine, Accel accel, Cpu cpu, Smp smp,
                            Memory memory, Boot boot, Map<String, String> rtc, List<String> flags, String display, String vga,
                            List<QomObject> objects, List<Chardev> chardevs, List<Monitor> monitors, List<String> serials,
                            List<Netdev> netdevs, List<Device> devices, List<Disk> disks) {
    /** The schema this agent reads and writes. */
    public static final int SCHEMA = 1;
    /** Longest description accepted, as JSON bytes. */
    public static final int MAX_BYTES = 64 * 1024;

    public record Machine(String type, Map<String, String> props) {}

    public record Accel(String type, Map<String, String> props) {}

    public record Cpu(String model, List<String> flags) {}

    public record Smp(Integer cpus, Integer sockets, Integer cores, Integer threads, Integer maxcpus) {}

    /**
     * {@code -m}: the size in MiB, or, when it is not a whole number of MiB, in KiB ({@code sizeKib}; exactly one of
     * the two is set). KiB sizes matter: the destination's RAM must be the source's to the byte, and a size that is
     * not a multiple of 256 KiB keeps QEMU before 9.0 under TCG off its dirty-bitmap path that loses guest writes
     * (see {@code GuestRam} in testkit).
     */
    public record Memory(Long sizeMib, Integer slots, Long maxMib, Long sizeKib) {
        public Memory(Long sizeMib, Integer slots, Long maxMib) {
            this(sizeMib, slots, maxMib, null);
        }

        /** The size in KiB, whichever field holds it; null when neither does. */
        public Long kib() {
            return sizeKib != null ? sizeKib : sizeMib == null ? null : sizeMib * 1024;
        }

        /** The {@code size=} value of {@code -m}, exactly as the size was given. */
        public String qemuSize() {
            return sizeKib != null ? sizeKib + "K" : sizeMib + "M";
        }
    }

    /** {@code -kernel}, {@code -initrd}, {@code -append}, {@code -bios} and the {@code -boot} options (order, menu, strict, ...). */
    public record Boot(String kernel, String initrd, String append, String bios, Map<String, String> options) {}

    /** {@code -object}: a QOM type (allowed: memory-backend-ram, rng-random, rng-builtin, iothread) with an id. */
    public record QomObject(String qomType, String id, Map<String, String> props) {}

    /** {@code -chardev}: {@code socket} (UNIX path), {@code pty}, {@code null} or {@code file} (path). */
    public record Chardev(String id, String backend, String path, Boolean server,
                          @JsonProperty("wait") Boolean waitForClient) {}

    /** {@code -mon chardev=ID,mode=control|readline[,pretty=on]} ({@code -qmp}, {@code -monitor} become these). */
    public record Monitor(String chardev, String mode, Boolean pretty) {}

    /** {@code -netdev}: {@code tap} (an existing or named tap interface, never a script) or {@code user}. */
    public record Netdev(String id, String type, String ifname, String bridge, Boolean vhost) {}

    /** {@code -device}: a driver, an id and a typed subset of its properties (strings, numbers, booleans). */
    public record Device(String driver, String id, Map<String, Object> props) {}

    /** A disk the migration moves: its node at the destination, format, size, and the source image (for messages). */
    public record Disk(String node, String format, Long virtualSize, String image) {}

    private static final ObjectMapper STRICT = JsonMapper.builder()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
            .configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true)
            .configure(DeserializationFeature.ACCEPT_FLOAT_AS_INT, false)
            .configure(MapperFeature.ALLOW_COERCION_OF_SCALARS, false)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();

    /** As JSON for the PREPARE (as a reader of the text sees it: numbers in their smallest node type). */
    public JsonNode toJson() {
        try {
            return STRICT.readTree(STRICT.writeValueAsString(this));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a description that does not serialise: " + this, e);
        }
    }

    /**
     * Reads a description from a peer: at most {@value #MAX_BYTES} bytes, an object of schema
     * {@value #SCHEMA} with only the fields above. Refuses anything else naming the field.
     */
    public static VmDescription read(JsonNode json) throws RefusedDescriptionException {
        if (json == null || json.isNull()) throw new RefusedDescriptionException("description", "missing");
        if (!json.isObject()) throw new RefusedDescriptionException("description", "not a JSON object but " + json.getNodeType());
        int size;
        try {
            size = STRICT.writeValueAsBytes(json).length;
        } catch (JsonProcessingException e) {
            throw new RefusedDescriptionException("description", "not serialisable: " + e.getOriginalMessage());
        }
        if (size > MAX_BYTES)
            throw new RefusedDescriptionException("description", size + " bytes, more than the " + MAX_BYTES + " accepted");
        JsonNode schema = json.get("schema");
        if (schema == null || !schema.isInt() || schema.intValue() != SCHEMA)
            throw new RefusedDescriptionException("schema", "this agent reads VM description schema " + SCHEMA + ", got "
                    + (schema == null ? "none" : schema.toString()));
        try {
            return STRICT.treeToValue(json, VmDescription.class);
        } catch (UnrecognizedPropertyException e) {
            String field = path(e);
            throw new RefusedDescriptionException(field, RefusedDescriptionException.unknownField(e.getPropertyName()));
        } catch (JsonMappingException e) {
            throw new RefusedDescriptionException(path(e), "bad value: " + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            throw new RefusedDescriptionException("description", "unreadable: " + e.getOriginalMessage());
        } catch (IllegalArgumentException e) {
            throw new RefusedDescriptionException("description", "unreadable: " + e.getMessage());
        }
    }

    /** {@code devices[2].props} from Jackson's reference path. */
    private static String path(JsonMappingException e) {
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (b.length() > 0) b.append('.');
                b.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.length() == 0 ? "description" : b.toString();
    }
}
