package io.vmmig.it.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.qmp.QmpClient;
import java.time.Duration;

/**
 * What every successful migration test checks at the end: the guest runs at the destination, its
 * {@code verify} finds every block intact, and still does once the source QEMU was SIGKILLed (no
 * residual dependency on the source).
 */
final class DestinationChecks {
    private DestinationChecks() {
    }

    /** Verifies at the destination, kills the source QEMU, verifies again; {@code blocks} = the workload's area. */
    static void guestIntactWithoutSource(TwoHosts hosts, long blocks) {
        assertEquals("running", status(hosts.destinationQmp()), "destination guest state");
        assertVerifyOk(hosts.verify(hosts.destination()), blocks);
        hosts.source().kill();
        assertTrue(hosts.source().awaitExit(Duration.ofSeconds(10)).isPresent(), "source QEMU did not exit on SIGKILL");
        assertVerifyOk(hosts.verify(hosts.destination()), blocks);
        assertEquals("running", status(hosts.destinationQmp()), "destination guest state without the source");
    }

    static void assertVerifyOk(String verifyLine, long blocks) {
        assertTrue(verifyLine.startsWith("VERIFY OK " + blocks + " ") && verifyLine.contains("ioerrors=0"), verifyLine);
    }

    static String status(QmpClient qmp) {
        return QmpClient.join(qmp.queryStatus()).status();
    }
}
