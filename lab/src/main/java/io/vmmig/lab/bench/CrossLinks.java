package io.vmmig.lab.bench;

import io.vmmig.testkit.net.Endpoint;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import io.vmmig.testkit.net.TcpForwarder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The cross-host flows of a migration. QEMU's memory stream goes straight from the source QEMU on host A to
 * the destination QEMU on host B over TCP ({@link #directMemory()}, {@link LabQemus}), as between two agents'
 * hosts. The two flows whose ends live in the bench's JVM or reach it (the vmmig peer channel, the destination
 * QEMU's NBD server for mirror) go unix socket to unix socket through a forwarder pair across the
 * lab's link: the source side connects to {@code X-a.sock} (forwarder in namespace A), which reaches the
 * real {@code X.sock} through the forwarder in namespace B over TCP between the namespaces. The forwarders
 * add no delay of their own: the round trip is the lab's link ({@link LinkProfile#labLink()}, the packet
 * delay line), so the TCP stream between them is the one that sees it (slow start, windows, ACK clocking).
 */
public final class CrossLinks implements AutoCloseable {
    /** One flow: where the source side connects, and where the destination side listens. */
    public record Flow(Path sourceSide, Path destinationSide) {}

    private final List<TcpForwarder> forwarders = new ArrayList<>();
    private final Path dir;
    private Flow peer;
    private Flow nbd;
    private Endpoint.Tcp directMemory;

    private CrossLinks(Path dir) {
        this.dir = dir;
    }

    /** Starts the four forwarders on B's {@code basePort + 1} and {@code + 2}; memory goes to {@code basePort + 3}. */
    public static CrossLinks open(NetworkLab lab, Path dir, int basePort, LinkProfile link, String nbdSocketName) {
        CrossLinks links = new CrossLinks(dir);
        try {
            links.peer = links.flow(lab, "peer", "peer.sock", basePort + 1, link);
            links.nbd = links.flow(lab, "nbd", nbdSocketName, basePort + 2, link);
            links.directMemory = new Endpoint.Tcp(LabHost.B.address(), basePort + 3);
            return links;
        } catch (RuntimeException e) {
            links.close();
            throw e;
        }
    }

    private Flow flow(NetworkLab lab, String name, String destinationSocket, int port, LinkProfile link) {
        Path a = dir.resolve(name + "-a.sock");
        Path b = dir.resolve(destinationSocket);
        Endpoint tcp = Endpoint.tcp(LabHost.B.address(), port);
        if (!lab.link().rtt().equals(link.rtt())) {
            throw new IllegalArgumentException("lab link " + lab.link() + " is not the profile's " + link.describe()
                    + " (open the lab with LinkProfile.openLab())");
        }
        forwarders.add(lab.forwarder(LabHost.B, tcp, Endpoint.unix(b), Duration.ZERO, FORWARDER_BUFFER_BYTES));
        forwarders.add(lab.forwarder(LabHost.A, Endpoint.unix(a), tcp, Duration.ZERO, FORWARDER_BUFFER_BYTES));
        return new Flow(a, b);
    }

    /**
     * Bytes a forwarder may hold per direction: small, so that what the sender counts as sent has entered
     * the TCP stream across the link (a deep buffer here would hide the link's data from QEMU, which would
     * call a memory migration complete while megabytes still wait in the forwarder).
     */
    static final long FORWARDER_BUFFER_BYTES = 256L << 10;

    public Path dir() {
        return dir;
    }

    /**
     * Where the destination QEMU on host B listens for the memory stream of a source QEMU on host A
     * ({@link LabQemus}): straight across the lab's link, no forwarder between the two QEMUs (basePort + 3).
     */
    public Endpoint.Tcp directMemory() {
        return directMemory;
    }

    public Flow peer() {
        return peer;
    }

    public Flow nbd() {
        return nbd;
    }

    @Override
    public void close() {
        for (TcpForwarder f : forwarders) {
            try {
                f.close();
            } catch (RuntimeException ignored) {
                // best effort; the lab kills what is left
            }
        }
        forwarders.clear();
    }
}
