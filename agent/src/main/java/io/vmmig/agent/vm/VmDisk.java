package io.vmmig.agent.vm;

/**
 * The disk a migration moves, as the source QEMU describes it.
 *
 * @param device         the guest device's qdev path (for messages)
 * @param node           the root (format) node the device uses
 * @param image          the top image file
 * @param format         its format (qcow2, raw)
 * @param virtualSize    guest-visible size in bytes
 * @param allocatedBytes host bytes the top image occupies (what must fit at the destination)
 * @param backingFile    the top image's backing file, or null
 */
public record VmDisk(String device, String node, String image, String format, long virtualSize, long allocatedBytes,
                     String backingFile) {}
