package io.vmmig.libvirt;

/**
 * One {@code <disk>} of a domain definition, as vmmig needs it.
 *
 * @param target   the guest-side name ({@code <target dev>}: vda)
 * @param type     {@code <disk type>}: file, block, network, volume, nvme
 * @param device   {@code <disk device>}: disk, cdrom, floppy, lun
 * @param format   {@code <driver type>}: qcow2, raw (null when not given)
 * @param source   the file or device path (null for network disks and empty drives)
 * @param readOnly {@code <readonly/>}
 * @param shared   {@code <shareable/>}
 * @param backing  the path of the first {@code <backingStore>} with a source, or null
 */
public record DomainDisk(String target, String type, String device, String format, String source, boolean readOnly,
                         boolean shared, String backing) {

    /** Why vmmig leaves this disk alone, or null when it can move it (a local qcow2 or raw file, writable, not shared, no backing chain). */
    public String whyNotMovable() {
        if (!"disk".equals(device)) return device + " device";
        if (!"file".equals(type)) return type + " disk (only local files are moved)";
        if (source == null) return "no source file";
        if (readOnly) return "read-only";
        if (shared) return "shareable (shared storage)";
        if (!"qcow2".equals(format) && !"raw".equals(format)) return "format " + format + " (qcow2 and raw are moved)";
        if (backing != null) return "has a backing file " + backing + " (backing chains are not moved yet)";
        return null;
    }

    public boolean movable() {
        return whyNotMovable() == null;
    }
}
