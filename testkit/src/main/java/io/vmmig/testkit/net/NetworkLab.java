package io.vmmig.testkit.net;

import io.vmmig.testkit.TestKitException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two "hosts" as network namespaces ({@link LabHost#A} {@code 10.213.0.1}, {@link LabHost#B}
 * {@code 10.213.0.2}) joined by a {@link LabLink}: a veth pair (/30), or a TUN device in each (point to
 * point, IPv4 only) joined by the {@link PacketDelayLine}, which holds every packet RTT/2 each way so that
 * all traffic between the hosts sees the round trip; loopback up in each, optionally shaped with {@code tbf}
 * on each end's egress (rate, then propagation, like a real link).
 * Needs root and {@code ip netns}. A JVM thread cannot enter a namespace, so work inside one runs as a
 * process: {@link #prefix(LabHost)} ({@code ip netns exec NS}) in front of any command line, {@link #exec}
 * to run one to completion, {@link #spawn} to start a tracked one, and {@link TcpForwarder} to bridge a
 * JVM-side Unix socket to TCP inside a namespace (with an optional {@link DelayProxy} delay).
 *
 * <p>Cleanup: {@link #close()} kills the spawned processes and every other process left in the namespaces,
 * then deletes them (the veth pair goes with them); a shutdown hook closes open labs; the first
 * {@link #create()} of a JVM deletes lab namespaces whose creating JVM is gone ({@link #sweepStale()}).
 */
public final class NetworkLab implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NetworkLab.class);
    private static final Set<NetworkLab> OPEN = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> List.copyOf(OPEN).forEach(NetworkLab::close),
                "vmmig-netlab-cleanup"));
    }

    private final Map<LabHost, String> namespaces = new EnumMap<>(LabHost.class);
    /** Further namespaces of the lab (a {@link GuestLan}'s client), deleted with it. */
    private final List<String> extraNamespaces = Collections.synchronizedList(new ArrayList<>());
    private final String baseName;
    private final List<Process> spawned = Collections.synchronizedList(new ArrayList<>());
    private final List<TcpForwarder> forwarders = Collections.synchronizedList(new ArrayList<>());
    private final LabLink link;
    private volatile TbfShape shape;
    private volatile PacketDelayLine delayLine;
    private boolean closed;

    private NetworkLab(String baseName, LabLink link) {
        this.baseName = baseName;
        this.link = link;
        for (LabHost h : LabHost.values()) {
            namespaces.put(h, baseName + "-" + h.suffix());
        }
    }

    /**
     * Why a lab cannot be built here (not root, {@code ip netns} missing), or empty when it can. Tests
     * use it in an assumption.
     */
    public static Optional<String> unavailableReason() {
        try {
            String uid = LabCommand.run(List.of("id", "-u")).trim();
            if (!uid.equals("0")) {
                return Optional.of("network lab needs root (uid is " + uid + ")");
            }
            LabCommand.run(List.of("ip", "netns", "list"));
            return Optional.empty();
        } catch (TestKitException e) {
            return Optional.of("network lab needs 'ip netns': " + e.getMessage());
        }
    }

    /** Creates both namespaces, the veth pair, addresses and links; unshaped. Fails leaving nothing behind. */
    public static NetworkLab create() {
        return create(LabLink.veth());
    }

    /**
     * Creates both namespaces joined by {@code link} (a veth pair, or a TUN pair and the packet delay line),
     * addresses and links up; unshaped. Fails leaving nothing behind.
     */
    public static NetworkLab create(LabLink link) {
        LabNamespaces.sweepStaleOnce();
        NetworkLab lab = new NetworkLab(LabNamespaces.newBaseName(), link);
        OPEN.add(lab);
        try {
            lab.build();
            LOG.info("network lab {} / {} up: {}", lab.namespace(LabHost.A), lab.namespace(LabHost.B), link);
            return lab;
        } catch (RuntimeException e) {
            try {
                lab.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private void build() {
        String a = namespace(LabHost.A);
        String b = namespace(LabHost.B);
        LabCommand.run(List.of("ip", "netns", "add", a));
        LabCommand.run(List.of("ip", "netns", "add", b));
        if (link.medium() == LabLink.Medium.VETH) {
            LabCommand.run(List.of("ip", "link", "add", LabHost.A.interfaceName(), "netns", a, "type", "veth",
                    "peer", "name", LabHost.B.interfaceName(), "netns", b));
        } else {
            for (LabHost h : LabHost.values()) {
                LabCommand.run(List.of("ip", "-n", namespace(h), "tuntap", "add", "dev", interfaceName(h), "mode", "tun"));
                // IPv4 only: no IPv6 router solicitations or DAD crossing the delay line (its counters are exact)
                LabCommand.run(command(h, List.of("sysctl", "-q", "-w",
                        "net.ipv6.conf." + interfaceName(h) + ".disable_ipv6=1")));
            }
        }
        for (LabHost h : LabHost.values()) {
            String ns = namespace(h);
            List<String> addr = link.medium() == LabLink.Medium.VETH
                    ? List.of(h.address() + "/" + LabHost.PREFIX_LENGTH)
                    : List.of(h.address(), "peer", h.peer().address());   // point-to-point, no ARP
            List<String> argv = new ArrayList<>(List.of("ip", "-n", ns, "addr", "add"));
            argv.addAll(addr);
            argv.addAll(List.of("dev", interfaceName(h)));
            LabCommand.run(argv);
            LabCommand.run(List.of("ip", "-n", ns, "link", "set", "lo", "up"));
            LabCommand.run(List.of("ip", "-n", ns, "link", "set", interfaceName(h), "up"));
        }
        if (link.medium() == LabLink.Medium.DELAY_LINE) {
            delayLine = PacketDelayLine.start(this, link);
        }
    }

    /** How the namespaces are joined. */
    public LabLink link() {
        return link;
    }

    /** The device joining {@code host}'s namespace to the other ({@code veth-a}, or {@code tun-a} with a delay line). */
    public String interfaceName(LabHost host) {
        return link.interfaceName(host);
    }

    /** The packet delay line of a {@link LabLink#delayLine} lab (its counters), empty for a veth lab. */
    public Optional<PacketDelayLine> delayLine() {
        return Optional.ofNullable(delayLine);
    }

    /** Deletes lab namespaces (and kills their processes) whose creating JVM is gone; returns how many. */
    public static int sweepStale() {
        return LabNamespaces.sweepStale();
    }

    /** The namespace name of {@code host}, e.g. {@code vmmig-4711-t3kq1z-1-a}. */
    public String namespace(LabHost host) {
        return namespaces.get(host);
    }

    /** {@code ["ip", "netns", "exec", NS]}: prepend to any command line to run it on {@code host}. */
    public List<String> prefix(LabHost host) {
        return List.of("ip", "netns", "exec", namespace(host));
    }

    /** {@link #prefix(LabHost)} followed by {@code argv}. */
    public List<String> command(LabHost host, List<String> argv) {
        List<String> all = new ArrayList<>(prefix(host));
        all.addAll(argv);
        return all;
    }

    /** Runs a command on {@code host} to completion (20 s deadline); returns stdout+stderr; fails on exit != 0. */
    public String exec(LabHost host, String... argv) {
        checkOpen();
        return LabCommand.run(command(host, List.of(argv)));
    }

    /**
     * Starts {@code builder}'s command on {@code host} (the prefix is prepended to {@code builder.command()}
     * in place); the process is killed by {@link #close()} if still running. Redirects are the caller's.
     */
    public Process spawn(LabHost host, ProcessBuilder builder) {
        return spawnIn(namespace(host), builder);
    }

    /** {@link #spawn} in one of the lab's namespaces named by {@code namespace} (e.g. a {@link GuestLan}'s client). */
    Process spawnIn(String namespace, ProcessBuilder builder) {
        checkOpen();
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        all.addAll(builder.command());
        builder.command(all);
        try {
            Process p = builder.start();
            spawned.add(p);
            return p;
        } catch (IOException e) {
            throw new TestKitException("cannot start '" + String.join(" ", builder.command()) + "': "
                    + e.getMessage(), e);
        }
    }

    /** Shapes both directions: {@code tbf} with {@link TbfShape#forRate(long)} on each veth end's egress. */
    public void shape(long rateBitsPerSecond) {
        shape(TbfShape.forRate(rateBitsPerSecond));
    }

    /** Shapes both directions with explicit {@code tbf} parameters (replacing any previous shape). */
    public void shape(TbfShape tbf) {
        checkOpen();
        for (LabHost h : LabHost.values()) {
            List<String> argv = new ArrayList<>(List.of("tc", "-n", namespace(h), "qdisc", "replace", "dev",
                    interfaceName(h), "root"));
            argv.addAll(tbf.tcArguments());
            LabCommand.run(argv);
        }
        shape = tbf;
        LOG.info("lab {} shaped: {}", namespace(LabHost.A), tbf);
    }

    /** Removes the shaping (back to the device's default queueing discipline). */
    public void unshaped() {
        checkOpen();
        if (shape == null) {
            return;
        }
        for (LabHost h : LabHost.values()) {
            LabCommand.run(List.of("tc", "-n", namespace(h), "qdisc", "del", "dev", interfaceName(h), "root"));
        }
        shape = null;
    }

    /** The current shape, empty when unshaped. */
    public Optional<TbfShape> shape() {
        return Optional.ofNullable(shape);
    }

    /** The byte/packet counters of {@code host}'s end of the link ({@link #interfaceName}). */
    public InterfaceCounters counters(LabHost host) {
        String dir = "/sys/class/net/" + interfaceName(host) + "/statistics/";
        return InterfaceCounters.parse(exec(host, "cat", dir + "rx_bytes", dir + "tx_bytes", dir + "rx_packets",
                dir + "tx_packets"));
    }

    /**
     * Builds the guest LAN (see {@link GuestLan}): a client namespace with the switch, a bridge and tap
     * {@code tap-vm} on each host; every bridge forgets a MAC after {@code switchAgeing} without frames from it.
     * Deleted with the lab.
     */
    public synchronized GuestLan guestLan(Duration switchAgeing) {
        checkOpen();
        String ns = baseName + "-c";
        extraNamespaces.add(ns);
        LabCommand.run(List.of("ip", "netns", "add", ns));
        return GuestLan.build(this, ns, switchAgeing);
    }

    /** Starts a {@link TcpForwarder} on {@code host} (see there). */
    public TcpForwarder forwarder(LabHost host, Endpoint listen, Endpoint target, Duration oneWayDelay) {
        return TcpForwarder.start(this, host, listen, target, oneWayDelay);
    }

    /** Starts a {@link TcpForwarder} on {@code host} whose delay line holds {@code bufferBytes} per direction. */
    public TcpForwarder forwarder(LabHost host, Endpoint listen, Endpoint target, Duration oneWayDelay,
                                  long bufferBytes) {
        return TcpForwarder.start(this, host, listen, target, oneWayDelay, bufferBytes);
    }

    /** Closes {@code forwarder} with the lab (its files too, not just its process). */
    void adopt(TcpForwarder forwarder) {
        forwarders.add(forwarder);
    }

    private synchronized void checkOpen() {
        if (closed) {
            throw new TestKitException("network lab " + namespace(LabHost.A) + " is closed");
        }
    }

    /** Kills spawned processes and everything else inside, deletes both namespaces. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        OPEN.remove(this);
        List<TcpForwarder> ownForwarders;
        synchronized (forwarders) {
            ownForwarders = List.copyOf(forwarders);
            forwarders.clear();
        }
        ownForwarders.forEach(TcpForwarder::close);
        if (delayLine != null) {
            delayLine.close();
        }
        List<Process> processes;
        synchronized (spawned) {
            processes = List.copyOf(spawned);
            spawned.clear();
        }
        for (Process p : processes) {
            LabNamespaces.kill(p.toHandle());
        }
        RuntimeException failure = null;
        List<String> all = new ArrayList<>(namespaces.values());
        all.addAll(extraNamespaces);
        for (String ns : all) {
            try {
                LabNamespaces.delete(ns);
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        LOG.info("network lab {} / {} removed", namespace(LabHost.A), namespace(LabHost.B));
    }
}
