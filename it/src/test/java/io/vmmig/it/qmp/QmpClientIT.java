package io.vmmig.it.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpConnectionLostException;
import io.vmmig.qmp.QmpEvent;
import io.vmmig.qmp.QmpEventListener;
import io.vmmig.qmp.QmpException;
import io.vmmig.qmp.QmpExecuteException;
import io.vmmig.qmp.QmpState;
import io.vmmig.qmp.command.QmpCommands;
import io.vmmig.qmp.command.QmpCommands.BlockDirtyBitmapAdd;
import io.vmmig.qmp.command.QmpCommands.TransactionAction;
import io.vmmig.qmp.command.QmpResults.BlockDeviceInfo;
import io.vmmig.qmp.command.QmpResults.DirtyBitmapInfo;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.QemuProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** QmpClient against a real QEMU 7.2 (no guest, no disk until a test adds one). */
@Timeout(60)
class QmpClientIT {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private QemuProcess qemu;
    private QmpClient qmp;

    @BeforeEach
    void start() {
        qemu = QemuProcess.builder().name("qmp-it").memoryMb(64).start();
        qmp = QmpClient.connect(qemu.qmpSocket());
    }

    @AfterEach
    void stop() {
        if (qmp != null) {
            qmp.close();
        }
        if (qemu != null) {
            qemu.close();
        }
    }

    /** Runs a host tool and returns its output (stdout and stderr). */
    private static String run(List<String> argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(WAIT.toMillis(), TimeUnit.MILLISECONDS), argv + " did not finish");
        String text = new String(out, java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), argv + ": " + text);
        return text;
    }

    @Test
    void capabilitiesAreNegotiatedAndTheVersionMatchesTheGreeting() {
        assertEquals(QmpState.RUNNING, qmp.state());
        var version = QmpClient.join(qmp.queryVersion());
        assertEquals(qmp.greeting().major(), version.qemu().major());
        assertEquals(qmp.greeting().minor(), version.qemu().minor());
        assertEquals(qmp.greeting().micro(), version.qemu().micro());
        assertTrue(version.qemu().major() >= 7, "QEMU " + version);
        assertEquals("running", QmpClient.join(qmp.queryStatus()).status());
    }

    @Test
    void stopAndContProduceStopAndResumeThroughAScopedListener() {
        try (QmpEventListener runState = qmp.listen("run-state", EventFilter.named("STOP", "RESUME"))) {
            qmp.call(new QmpCommands.Stop());
            QmpEvent stop = runState.next(WAIT);
            assertEquals("STOP", stop.name());
            assertEquals("paused", QmpClient.join(qmp.queryStatus()).status());
            qmp.call(new QmpCommands.Cont());
            QmpEvent resume = runState.next(WAIT);
            assertEquals("RESUME", resume.name());
            assertFalse(resume.timestamp().isBefore(stop.timestamp()), stop + " then " + resume);
            assertTrue(QmpClient.join(qmp.queryStatus()).running());
        }
        assertEquals(0, qmp.listenerCount());
    }

    private ObjectNode qcow2Node(Path image, String node) {
        ObjectNode opts = qmp.mapper().createObjectNode().put("driver", "qcow2").put("node-name", node);
        opts.putObject("file").put("driver", "file").put("filename", image.toString())
                .put("node-name", node + "-file");
        return opts;
    }

    private Optional<BlockDeviceInfo> node(String name) {
        return QmpClient.join(qmp.queryNamedBlockNodes()).stream().filter(n -> name.equals(n.nodeName())).findFirst();
    }

    @Test
    void blockdevAddAndDelOfAQcow2Node() throws Exception {
        DiskImage image = DiskImage.create(qemu.dir().resolve("a.qcow2"), DiskImage.Format.QCOW2, 16 << 20);
        QmpClient.join(qmp.blockdevAdd(qcow2Node(image.path(), "fmt")));
        BlockDeviceInfo fmt = node("fmt").orElseThrow(() -> new AssertionError("fmt not listed"));
        assertEquals("qcow2", fmt.drv());
        assertEquals(16 << 20, fmt.image().virtualSize());
        assertEquals(image.path().toString(), fmt.file());
        assertTrue(node("fmt-file").isPresent());

        QmpClient.join(qmp.blockdevDel("fmt"));
        assertTrue(node("fmt").isEmpty() && node("fmt-file").isEmpty(), "node and its inline file child deleted");
        // the image is closed again: qemu-img can take its lock
        String info = run(List.of("qemu-img", "info", "--output=json", image.path().toString()));
        assertTrue(info.contains("\"virtual-size\": 16777216"), info);
    }

    @Test
    void dirtyBitmapsAreSeenInQueryNamedBlockNodesAndRotateInATransaction() {
        DiskImage image = DiskImage.create(qemu.dir().resolve("b.qcow2"), DiskImage.Format.QCOW2, 16 << 20);
        QmpClient.join(qmp.blockdevAdd(qcow2Node(image.path(), "fmt")));
        qmp.call(new BlockDirtyBitmapAdd("fmt", "e0", 65536L, null, null));
        Map<String, DirtyBitmapInfo> bitmaps = bitmaps("fmt");
        assertEquals(65536, bitmaps.get("e0").granularity());
        assertTrue(bitmaps.get("e0").recording());
        assertEquals(0, bitmaps.get("e0").count());

        // rotation as the push phase does it: add e1, disable e0, atomically
        qmp.call(new QmpCommands.Transaction(List.of(
                TransactionAction.bitmapAdd(new BlockDirtyBitmapAdd("fmt", "e1", 65536L, null, null)),
                TransactionAction.bitmapDisable("fmt", "e0"))));
        bitmaps = bitmaps("fmt");
        assertEquals(List.of("e0", "e1"), bitmaps.keySet().stream().sorted().toList());
        assertFalse(bitmaps.get("e0").recording());
        assertTrue(bitmaps.get("e1").recording());

        // a failing action aborts the whole transaction: e2 must not exist afterwards
        QmpExecuteException e = assertThrows(QmpExecuteException.class, () -> qmp.call(new QmpCommands.Transaction(
                List.of(TransactionAction.bitmapAdd(new BlockDirtyBitmapAdd("fmt", "e2", null, null, null)),
                        TransactionAction.abort()))));
        assertEquals("GenericError", e.errorClass());
        assertFalse(bitmaps("fmt").containsKey("e2"));

        qmp.call(new QmpCommands.BlockDirtyBitmapRemove("fmt", "e0"));
        assertEquals(List.of("e1"), List.copyOf(bitmaps("fmt").keySet()));
    }

    private Map<String, DirtyBitmapInfo> bitmaps(String nodeName) {
        return node(nodeName).orElseThrow().dirtyBitmaps().stream()
                .collect(Collectors.toMap(DirtyBitmapInfo::name, b -> b));
    }

    @Test
    void failingCommandsGiveQemusErrorClass() {
        QmpExecuteException notFound = assertThrows(QmpExecuteException.class,
                () -> QmpClient.join(qmp.blockdevDel("no-such-node")));
        assertEquals("GenericError", notFound.errorClass());
        assertTrue(notFound.description().contains("no-such-node"), notFound.description());
        assertEquals("blockdev-del", notFound.command());
        assertEquals("no-such-node", notFound.arguments().get("node-name").asText());

        QmpExecuteException noJob = assertThrows(QmpExecuteException.class,
                () -> qmp.call(new QmpCommands.BlockJobCancel("no-such-job", null)));
        assertEquals("DeviceNotActive", noJob.errorClass());

        QmpExecuteException noCommand = assertThrows(QmpExecuteException.class,
                () -> QmpClient.join(qmp.execute("no-such-command", null)));
        assertEquals("CommandNotFound", noCommand.errorClass());
        assertEquals(QmpState.RUNNING, qmp.state(), "errors do not hurt the connection");
        assertEquals("running", QmpClient.join(qmp.queryStatus()).status());
    }

    @Test
    void killingQemuFailsPendingCallsWithConnectionLostWithinOneSecond() throws Exception {
        // freeze QEMU so the commands below stay pending, then SIGKILL it
        run(List.of("kill", "-STOP", Long.toString(qemu.pid())));
        List<CompletableFuture<?>> pending = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            pending.add(i % 2 == 0 ? qmp.queryStatus() : qmp.queryNamedBlockNodes());
        }
        try (QmpEventListener events = qmp.listen("all", EventFilter.any())) {
            assertEquals(10, qmp.pendingCount());
            long t0 = System.nanoTime();
            qemu.kill();
            for (CompletableFuture<?> f : pending) {
                QmpException e = assertThrows(QmpException.class, () -> QmpClient.join(f));
                assertInstanceOf(QmpConnectionLostException.class, e);
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            System.out.println("QMP pending calls failed " + ms + " ms after SIGKILL");
            assertTrue(ms < 1000, "pending calls failed " + ms + " ms after SIGKILL");
            assertThrows(QmpConnectionLostException.class, () -> events.next(WAIT));
        }
        assertEquals(QmpState.CLOSED, qmp.state());
        CompletableFuture<?> later = qmp.queryStatus();
        assertTrue(later.isCompletedExceptionally(), "calls after the loss fail at once");
    }

    @Test
    void manyCommandsInFlightFromSeveralThreadsOnRealQemu() throws Exception {
        DiskImage image = DiskImage.create(qemu.dir().resolve("c.qcow2"), DiskImage.Format.QCOW2, 1 << 20);
        QmpClient.join(qmp.blockdevAdd(qcow2Node(image.path(), "fmt")));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                workers.add(pool.submit(() -> {
                    List<CompletableFuture<?>> mine = new ArrayList<>();
                    for (int i = 0; i < 50; i++) {
                        String name = "t" + thread + "-" + i;
                        mine.add(qmp.execute(new BlockDirtyBitmapAdd("fmt", name, null, null, null)));
                        mine.add(qmp.queryStatus().thenAccept(s -> assertEquals("running", s.status())));
                        mine.add(qmp.humanMonitorCommand("info version")
                                .thenAccept(v -> assertTrue(v.startsWith(qmp.greeting().major() + "."), v)));
                    }
                    for (CompletableFuture<?> f : mine) {
                        QmpClient.join(f);
                    }
                    return mine.size();
                }));
            }
            int done = 0;
            for (Future<Integer> w : workers) {
                done += w.get(30, TimeUnit.SECONDS);
            }
            assertEquals(600, done);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(200, bitmaps("fmt").size(), "every bitmap-add reached QEMU exactly once");
        assertEquals(0, qmp.pendingCount());
    }

    @Test
    void quitSendsShutdownThenTheConnectionCloses() {
        try (QmpEventListener shutdown = qmp.listen("shutdown", EventFilter.named("SHUTDOWN"))) {
            CompletableFuture<Void> quit = qmp.quit();
            QmpEvent e = shutdown.next(WAIT);
            assertEquals("host-qmp-quit", e.dataText("reason"));
            QmpConnectionLostException why = qmp.awaitClosed(WAIT);
            assertTrue(why.getMessage().contains("closed by the peer"), why.getMessage());
            assertEquals(QmpState.CLOSED, qmp.state());
            assertThrows(QmpConnectionLostException.class, () -> shutdown.next(WAIT));
            // QEMU answers quit before it closes the socket
            assertEquals(null, QmpClient.join(quit));
        }
        assertEquals(java.util.OptionalInt.of(0), qemu.awaitExit(WAIT));
    }

    @Test
    void tcpEndpointWorksLikeUnix() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        try (QemuProcess tcpQemu = QemuProcess.builder().name("qmp-tcp").memoryMb(64)
                .extraArgs(List.of("-S", "-qmp", "tcp:127.0.0.1:" + port + ",server=on,wait=off")).start();
             // QEMU opens every -qmp chardev before its main loop, so TCP listens once the UNIX socket does
             QmpClient tcp = QmpClient.connect(io.vmmig.qmp.QmpEndpoint.tcp("127.0.0.1", port),
                     QmpClient.Options.defaults())) {
            assertEquals("prelaunch", QmpClient.join(tcp.queryStatus()).status());
            try (QmpEventListener resume = tcp.listen("resume", EventFilter.named("RESUME"))) {
                tcp.call(new QmpCommands.Cont());
                resume.next(WAIT);
            }
            assertTrue(tcpQemu.isAlive());
        }
    }

    @Test
    void blockJobEventsCanBeAwaitedPerJob() {
        DiskImage src = DiskImage.create(qemu.dir().resolve("src.qcow2"), DiskImage.Format.QCOW2, 4 << 20);
        DiskImage dst = DiskImage.create(qemu.dir().resolve("dst.qcow2"), DiskImage.Format.QCOW2, 4 << 20);
        QmpClient.join(qmp.blockdevAdd(qcow2Node(src.path(), "src")));
        QmpClient.join(qmp.blockdevAdd(qcow2Node(dst.path(), "dst")));
        try (QmpEventListener job = qmp.listen("mirror-m0", EventFilter.jobStatus("m0"));
             QmpEventListener other = qmp.listen("other-job", EventFilter.jobStatus("m1"))) {
            qmp.call(QmpCommands.BlockdevMirror.of("m0", "src", "dst", "full"));
            job.await(e -> "ready".equals(e.dataText("status")), WAIT);
            assertTrue(QmpClient.join(qmp.queryBlockJobs()).stream()
                    .anyMatch(j -> j.device().equals("m0") && j.ready()));
            qmp.call(new QmpCommands.BlockJobComplete("m0"));
            job.await(e -> "null".equals(e.dataText("status")), WAIT);
            assertTrue(other.drain().isEmpty(), "events of job m0 only went to m0's listener");
        }
        assertTrue(QmpClient.join(qmp.queryBlockJobs()).isEmpty());
        JsonNode raw = QmpClient.join(qmp.execute("query-jobs", null));
        assertEquals(0, raw.size(), raw.toString());
    }
}
