package io.vmmig.strategy.qemu;

import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpEventListener;
import io.vmmig.qmp.command.QmpCommands.MigrateIncoming;
import io.vmmig.qmp.command.QmpCommands.MigrateSetCapabilities;
import io.vmmig.qmp.command.QmpCommands.MigrateSetParameters;
import io.vmmig.qmp.command.QmpResults.MigrationCapability;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives the destination side of one migration once its QEMU is up in {@code -incoming defer}:
 * attaches the disk strategy, listens for memory, waits for the switchover and the disk, finishes.
 */
public final class DestinationMigration implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DestinationMigration.class);
    private final QmpClient qmp;
    private final DestinationStrategy disk;
    private final MigrationTimeline timeline;
    private final QmpEventListener migrationEvents;
    private final String tlsCredsId;

    /** Attaches the disk strategy and starts {@code migrate-incoming} on {@code incomingUri}. */
    public DestinationMigration(QmpClient qmp, DestinationStrategy disk, String incomingUri, MigrationTimeline timeline)
            throws Exception {
        this(qmp, disk, incomingUri, null, timeline);
    }

    /**
     * Same, the memory stream in TLS with the server credentials {@code tlsCredsId} when not null
     * ({@code migrate-set-parameters tls-creds} before {@code migrate-incoming}; reset to {@code ""} by
     * {@link #close()}, so the credentials object can go afterwards).
     */
    public DestinationMigration(QmpClient qmp, DestinationStrategy disk, String incomingUri, String tlsCredsId,
                                MigrationTimeline timeline) throws Exception {
        this.qmp = qmp;
        this.disk = disk;
        this.timeline = timeline;
        this.tlsCredsId = tlsCredsId;
        disk.attach(qmp);
        qmp.call(new MigrateSetCapabilities(List.of(new MigrationCapability("events", true))));
        if (tlsCredsId != null) qmp.call(MigrateSetParameters.tls(tlsCredsId, null));
        this.migrationEvents = qmp.listen("vmmig-incoming", EventFilter.named("MIGRATION"));
        qmp.call(new MigrateIncoming(incomingUri));
        timeline.mark(MigrationEvent.INCOMING);
    }

    /**
     * Waits for the memory migration ({@code timeout}: before the switchover) and the disk (no
     * timeout: after it), then takes the agent out of the I/O path.
     */
    public DestinationReport awaitAndFinish(Duration timeout) throws Exception {
        migrationEvents.await(e -> {
            String s = e.dataText("status");
            if ("failed".equals(s) || "cancelled".equals(s)) throw new MemoryMigrationFailedException(MigrationEvent.Side.DESTINATION, s);
            return "completed".equals(s);
        }, timeout);
        disk.startGuest();
        timeline.mark(MigrationEvent.RUNNING_AT_DESTINATION);
        disk.guestRunsHere();
        // The guest runs here on the disk being pulled: no timeout ends that (the link may be cut and
        // resumed, an agent may restart); only the disk's completion does.
        disk.complete().get();
        timeline.mark(MigrationEvent.DISK_COMPLETE);
        disk.finish();
        timeline.mark(MigrationEvent.FINISHED);
        return disk.report();
    }

    @Override
    public void close() {
        migrationEvents.close();
        if (tlsCredsId != null) {
            try {
                qmp.call(MigrateSetParameters.tls("", null));
            } catch (RuntimeException e) {
                LOG.debug("resetting the incoming migration's tls-creds: {}", e.toString());
            }
        }
    }
}
