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
 * The three cross-host flows of a migration (QEMU memory, the vmmig peer channel, the destination
 * QEMU's NBD server for mirror), each unix socket to unix socket through a forwarder pair across the
 * lab's veth (the lab's {@link TcpForwarder}s, delay lines sized to the link): the source side connects to {@code X-a.sock} (forwarder in namespace A, with the added
 * one-way delay), which reaches the real {@code X.sock} through the forwarder in namespace B.
 */
public final class CrossLinks implements AutoCloseable {
    /** One flow: where the source side connects, and where the destination side listens. */
    public record Flow(Path sourceSide, Path destinationSide) {}

    private final List<TcpForwarder> forwarders = new ArrayList<>();
    private final Path dir;
    private Flow memory;
    private Flow peer;
    private Flow nbd;

    private CrossLinks(Path dir) {
        this.dir = dir;
    }

    /** Starts the six forwarders; {@code basePort} .. basePort+2 on B's address. */
    public static CrossLinks open(NetworkLab lab, Path dir, int basePort, LinkProfile link, String nbdSocketName) {
        CrossLinks links = new CrossLinks(dir);
        try {
            links.memory = links.flow(lab, "mig", "mig.sock", basePort, link);
            links.peer = links.flow(lab, "peer", "peer.sock", basePort + 1, link);
            links.nbd = links.flow(lab, "nbd", nbdSocketName, basePort + 2, link);
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
        forwarders.add(lab.forwarder(LabHost.B, tcp, Endpoint.unix(b), Duration.ZERO,
                delayLineBytes(link.rateBitsPerSecond(), Duration.ZERO)));
        forwarders.add(lab.forwarder(LabHost.A, Endpoint.unix(a), tcp, link.oneWayDelay(),
                delayLineBytes(link.rateBitsPerSecond(), link.oneWayDelay())));
        return new Flow(a, b);
    }

    /**
     * Bytes a forwarder's delay line may hold: twice the link's bytes in flight over the delay, at
     * least 256 KiB. The lab's 16 MiB default would hide seconds of a 100 Mbit/s link's data from the
     * sender (QEMU would call the memory migration complete while megabytes still wait in the proxy).
     */
    static long delayLineBytes(long rateBitsPerSecond, Duration oneWayDelay) {
        long inFlight = rateBitsPerSecond <= 0 ? 0 : rateBitsPerSecond / 8 * oneWayDelay.toMillis() / 1000;
        return Math.max(256L << 10, 2 * inFlight);
    }

    public Path dir() {
        return dir;
    }

    public Flow memory() {
        return memory;
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
