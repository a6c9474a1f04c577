package io.vmmig.testkit.net;

/**
 * The kernel's byte and packet counters of one network interface (from
 * {@code /sys/class/net/IF/statistics}); they count whole frames, headers included.
 */
public record InterfaceCounters(long rxBytes, long txBytes, long rxPackets, long txPackets) {
    /** The counts since {@code earlier} (the same interface read before). */
    public InterfaceCounters minus(InterfaceCounters earlier) {
        return new InterfaceCounters(rxBytes - earlier.rxBytes, txBytes - earlier.txBytes,
                rxPackets - earlier.rxPackets, txPackets - earlier.txPackets);
    }

    /** Parses four numbers, one per line: rx_bytes, tx_bytes, rx_packets, tx_packets. */
    public static InterfaceCounters parse(String text) {
        String[] lines = text.trim().split("\\s+");
        if (lines.length != 4) {
            throw new io.vmmig.testkit.TestKitException(
                    "expected 4 interface counters (rx_bytes tx_bytes rx_packets tx_packets), got: " + text);
        }
        try {
            return new InterfaceCounters(Long.parseLong(lines[0]), Long.parseLong(lines[1]),
                    Long.parseLong(lines[2]), Long.parseLong(lines[3]));
        } catch (NumberFormatException e) {
            throw new io.vmmig.testkit.TestKitException("interface counters are not numbers: " + text, e);
        }
    }
}
