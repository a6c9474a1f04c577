package io.vmmig.testkit.net;

import io.vmmig.testkit.GuestNic;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The test guest's L2 segment across a {@link NetworkLab}, so that the guest keeps one address wherever it
 * runs and a third party reaches it the way a LAN would:
 *
 * <pre>
 *  host A: tap-vm ─ br-vm ─ lan-a ──┐                     ┌── lan-b ─ br-vm ─ tap-vm :host B
 *                                   └─ port-a ─ sw ─ port-b ┘
 *                                   client: sw 10.214.0.100/24 (the switch, and the prober on it)
 * </pre>
 *
 * Each host has a persistent tap {@code tap-vm} (QEMU opens it with {@code ifname=tap-vm,script=no}) on a
 * bridge with a veth to the client namespace, whose bridge {@code sw} is the switch and carries the client's
 * address. The switch learns the guest's MAC ({@link #GUEST_MAC}) on the port its frames come from and
 * forwards the client's frames there only; after a migration only the guest's own frames from the new
 * host (QEMU's {@code announce-self} RARPs, or any reply) or the entries ageing out ({@code switchAgeing}, on
 * every bridge: the new host's bridge learnt the guest's MAC on its uplink from the guest's broadcasts) move the path (the guest has IPv6 off and keeps neighbours reachable for an hour: nothing else comes from it unasked). No addresses on A and B: the
 * segment is the guest's, not the hosts'.
 */
public final class GuestLan {
    /** The tap on each host. */
    public static final String TAP = "tap-vm";
    public static final String GUEST_ADDRESS = "10.214.0.10";
    public static final String CLIENT_ADDRESS = "10.214.0.100";
    public static final int PREFIX_LENGTH = 24;
    public static final String GUEST_MAC = "52:54:00:d1:00:10";
    static final String SWITCH = "sw";
    private static final String HOST_BRIDGE = "br-vm";

    private final NetworkLab lab;
    private final String client;
    private final Duration switchAgeing;

    private GuestLan(NetworkLab lab, String client, Duration switchAgeing) {
        this.lab = lab;
        this.client = client;
        this.switchAgeing = switchAgeing;
    }

    static GuestLan build(NetworkLab lab, String client, Duration switchAgeing) {
        long centis = Math.max(10, switchAgeing.toMillis() / 10);   // the bridge counts in 1/100 s
        run(List.of("ip", "-n", client, "link", "add", SWITCH, "type", "bridge", "ageing_time", Long.toString(centis)));
        run(List.of("ip", "-n", client, "addr", "add", CLIENT_ADDRESS + "/" + PREFIX_LENGTH, "dev", SWITCH));
        run(List.of("ip", "-n", client, "link", "set", "lo", "up"));
        run(List.of("ip", "-n", client, "link", "set", SWITCH, "up"));
        for (LabHost h : LabHost.values()) {
            String ns = lab.namespace(h);
            String lan = "lan-" + h.suffix();
            String port = port(h);
            run(List.of("ip", "link", "add", lan, "netns", ns, "type", "veth", "peer", "name", port, "netns", client));
            run(List.of("ip", "-n", ns, "link", "add", HOST_BRIDGE, "type", "bridge", "ageing_time", Long.toString(centis)));
            run(List.of("ip", "-n", ns, "tuntap", "add", "dev", TAP, "mode", "tap"));
            for (String dev : List.of(lan, TAP)) {
                run(List.of("ip", "-n", ns, "link", "set", dev, "master", HOST_BRIDGE));
                run(List.of("ip", "-n", ns, "link", "set", dev, "up"));
            }
            run(List.of("ip", "-n", ns, "link", "set", HOST_BRIDGE, "up"));
            run(List.of("ip", "-n", client, "link", "set", port, "master", SWITCH));
            run(List.of("ip", "-n", client, "link", "set", port, "up"));
        }
        return new GuestLan(lab, client, switchAgeing);
    }

    private static void run(List<String> argv) {
        LabCommand.run(argv);
    }

    /** The switch's port towards {@code host}, in the client namespace. */
    static String port(LabHost host) {
        return "port-" + host.suffix();
    }

    /** The guest's NIC on this LAN: {@link #TAP}, {@link #GUEST_MAC}, {@link #GUEST_ADDRESS}/24. */
    public GuestNic nic() {
        return new GuestNic(TAP, GUEST_MAC, GUEST_ADDRESS, PREFIX_LENGTH);
    }

    /** The client namespace's name (the switch and the prober live there). */
    public String clientNamespace() {
        return client;
    }

    /** How long the switch keeps a MAC it no longer hears from. */
    public Duration switchAgeing() {
        return switchAgeing;
    }

    /** Starts probing the guest's UDP echo from the client every {@code interval} (see {@link GuestProbe}). */
    public GuestProbe probe(Duration interval) {
        return GuestProbe.start(lab, client, GUEST_ADDRESS, GuestNic.ECHO_PORT, interval);
    }

    /**
     * A permanent neighbour entry for the guest in the client, so the client never sends ARP for it: the
     * switch then finds the guest only from the guest's own frames (or by flooding once it forgot the MAC),
     * and a test sees what the announcements do.
     */
    public void pinGuestNeighbour() {
        run(List.of("ip", "-n", client, "neigh", "replace", GUEST_ADDRESS, "lladdr", GUEST_MAC, "nud", "permanent", "dev", SWITCH));
    }

    /** The counters of {@code host}'s tap: rx = frames from the guest's NIC there, tx = frames to it. */
    public InterfaceCounters tapCounters(LabHost host) {
        String dir = "/sys/class/net/" + TAP + "/statistics/";
        return InterfaceCounters.parse(lab.exec(host, "cat", dir + "rx_bytes", dir + "tx_bytes", dir + "rx_packets",
                dir + "tx_packets"));
    }

    /** The host whose port the switch has learnt {@code mac} on ({@code bridge fdb}), empty if it has none. */
    public Optional<LabHost> switchPortOf(String mac) {
        String fdb = LabCommand.run(List.of("bridge", "-n", client, "fdb", "show", "br", SWITCH));
        List<LabHost> hosts = new ArrayList<>();
        for (String line : fdb.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[0].equalsIgnoreCase(mac) && f[1].equals("dev"))
                for (LabHost h : LabHost.values())
                    if (f[2].equals(port(h))) hosts.add(h);
        }
        return hosts.stream().findFirst();
    }

    @Override
    public String toString() {
        return "GuestLan[" + client + ", guest " + GUEST_ADDRESS + " " + GUEST_MAC.toLowerCase(Locale.ROOT) + ", ageing "
                + switchAgeing.toMillis() + " ms]";
    }
}
