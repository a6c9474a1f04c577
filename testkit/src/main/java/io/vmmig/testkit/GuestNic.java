package io.vmmig.testkit;

import java.util.List;

/**
 * The test guest's optional network card: a {@code virtio-net-pci} NIC on a tap interface that must exist
 * where QEMU runs (e.g. {@code GuestLan}'s {@code tap-vm}), with a static IPv4 address the guest's
 * {@code /init} sets ({@code vmmig.ip=}) and a UDP echo on {@link #ECHO_PORT} that answers an outside probe.
 *
 * @param tap      the tap interface's name ({@code ifname=}, opened with {@code script=no})
 * @param mac      the NIC's MAC address
 * @param address  the guest's IPv4 address
 * @param prefix   its prefix length
 */
public record GuestNic(String tap, String mac, String address, int prefix) {
    /** The UDP port the guest echoes datagrams on. */
    public static final int ECHO_PORT = 7;

    public GuestNic {
        if (!tap.matches("[A-Za-z0-9_.-]{1,15}")) throw new IllegalArgumentException("not a tap name: " + tap);
        if (!mac.matches("([0-9a-f]{2}:){5}[0-9a-f]{2}")) throw new IllegalArgumentException("not a MAC address: " + mac);
        if (!address.matches("\\d{1,3}(\\.\\d{1,3}){3}")) throw new IllegalArgumentException("not an IPv4 address: " + address);
        if (prefix < 1 || prefix > 30) throw new IllegalArgumentException("prefix length out of range: " + prefix);
    }

    /** The kernel command-line parameter for {@code /init}. */
    public String kernelArgs() {
        return "vmmig.ip=" + address + "/" + prefix;
    }

    /** {@code -netdev tap,...} and {@code -device virtio-net-pci,...}. */
    public List<String> qemuArgs() {
        return List.of("-netdev", "tap,id=n0,ifname=" + tap + ",script=no,downscript=no",
                "-device", "virtio-net-pci,netdev=n0,mac=" + mac);
    }
}
