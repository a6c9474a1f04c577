package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.cli.ControlClient;
import io.vmmig.agent.cli.ReceivedEvent;
import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationStatus;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent restarting over a journal that shows a destination migration in flight before the
 * switchover, whose QEMU's monitor accepts but never answers (a QEMU stuck in its shutdown, say):
 * the control socket opens and lists the migration while its recovery is still waiting on that
 * QEMU; once the QEMU is gone, the migration is cancelled and its image and directory removed.
 */
class AgentRestartTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    @Test
    void aStuckQemuDoesNotKeepTheRestartedAgentFromServing() throws Exception {
        Path state = tmp.resolve("state");
        Path work = Files.createDirectories(state.resolve("m/m-0000beef"));
        Path image = Files.createDirectories(tmp.resolve("images")).resolve("web1.qcow2");
        Files.writeString(image, "partial");
        Path monitor = work.resolve("qmp.sock");
        // what the killed agent had written down
        MigrationRecord before = new MigrationRecord("m-0000beef", "destination", "web1", "10.0.0.1:5000", "precopy");
        before.journal(new MigrationJournal(state.resolve("journal")));
        before.fact(MigrationJournal.WORK_DIR, work.toString());
        before.fact(MigrationJournal.IMAGE, image.toString());
        before.fact(MigrationJournal.QEMU_QMP, monitor.toString());
        before.phase(MigrationPhase.PUSHING);

        try (ServerSocketChannel stuckQemu = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stuckQemu.bind(UnixDomainSocketAddress.of(monitor));
            CompletableFuture<SocketChannel> asked = CompletableFuture.supplyAsync(() -> {
                try {
                    return stuckQemu.accept();   // and never a greeting
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            AgentConfig config = AgentConfig.builder()
                    .listenHost("127.0.0.1")
                    .listenPort(0)
                    .migrationHost("127.0.0.1")
                    .allowedClients(Set.of())
                    .insecure(true)
                    .stateDir(state)
                    .controlSocket(tmp.resolve("control.sock"))
                    .imageDirs(List.of(tmp.resolve("images")))
                    .qemuBinary("qemu-system-x86_64")
                    .vms(Map.of())
                    .timeout(Duration.ofSeconds(20))
                    .tokenTtl(Duration.ofSeconds(20))
                    .build();
            try (Agent agent = Agent.start(config)) {
                // the agent serves while its recovery has the stuck monitor's connection and no answer from it
                SocketChannel held = asked.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                ReceivedEvent listed = ControlClient.ask(config.controlSocket(), ControlRequest.list(), WAIT);
                List<MigrationStatus> all = assertInstanceOf(ControlEvent.Listing.class, listed.event()).migrations();
                assertEquals(List.of("m-0000beef"), all.stream().map(MigrationStatus::id).toList());
                assertFalse(all.get(0).phase().terminal(), "settled before the stuck QEMU answered: " + all.get(0));
                held.close();   // the QEMU goes away

                MigrationStatus after = settled(config.controlSocket(), "m-0000beef");
                assertEquals(MigrationPhase.CANCELLED, after.phase(), after.toString());
                assertTrue(after.error().contains("agent restart"), after.error());
                assertFalse(Files.exists(image), "the partial image is removed");
                assertFalse(Files.exists(work), "the migration's directory is removed");
            }
        }
    }

    /** Watches the migration until its terminal event; its status then. */
    private static MigrationStatus settled(Path socket, String id) {
        try (ControlClient c = ControlClient.connect(socket)) {
            c.send(ControlRequest.watch(id));
            Instant deadline = Instant.now().plus(WAIT);
            while (true) {
                ReceivedEvent e = c.next(deadline);
                if (e != null && (e.event() instanceof ControlEvent.Report || e.event() instanceof ControlEvent.Failure)) break;
            }
        }
        return ((ControlEvent.Status) ControlClient.ask(socket, ControlRequest.status(id), WAIT).event()).migration();
    }
}
