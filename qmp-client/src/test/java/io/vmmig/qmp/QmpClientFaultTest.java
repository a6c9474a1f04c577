package io.vmmig.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.command.QmpCommands;
import io.vmmig.qmp.command.QmpResults;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** QmpClient against an in-process fake peer, for the faults a real QEMU never produces. */
@Timeout(30)
class QmpClientFaultTest {
    private FakeQmpServer server;
    private QmpClient client;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @BeforeEach
    void start() throws Exception {
        server = new FakeQmpServer();
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        server.close();
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(5, TimeUnit.SECONDS), "server threads did not end");
    }

    private QmpClient connect(QmpClient.Options options) throws Exception {
        Future<?> negotiated = pool.submit(() -> {
            server.acceptAndNegotiate();
            return null;
        });
        client = QmpClient.connect(server.endpoint(), options);
        negotiated.get(5, TimeUnit.SECONDS);
        return client;
    }

    private QmpClient connect() throws Exception {
        return connect(QmpClient.Options.defaults());
    }

    private static Throwable failureOf(CompletableFuture<?> f) {
        return assertThrows(QmpException.class, () -> QmpClient.join(f));
    }

    @Test
    void negotiatesAndDecodesTypedReplies() throws Exception {
        connect();
        assertEquals(QmpState.RUNNING, client.state());
        assertEquals(new QmpGreeting(7, 2, 22, "fake", List.of("oob")), client.greeting());
        CompletableFuture<QmpResults.StatusInfo> status = client.queryStatus();
        JsonNode cmd = server.readCommand();
        assertEquals("query-status", cmd.get("execute").asText());
        assertEquals("vmmig-2", cmd.get("id").asText(), "qmp_capabilities was vmmig-1");
        assertTrue(cmd.path("arguments").isMissingNode(), "no arguments for query-status: " + cmd);
        server.reply(cmd, "{\"status\": \"paused\", \"singlestep\": false, \"running\": false, \"new-field\": 1}");
        assertEquals(new QmpResults.StatusInfo("paused", false), QmpClient.join(status));
        assertEquals(0, client.pendingCount());
        assertThrows(QmpTimeoutException.class, () -> client.awaitClosed(Duration.ofMillis(20)));
    }

    /**
     * A caller sending while its thread is interrupted (an executor's shutdownNow stopping a poller) must not take
     * the connection down for everyone: NIO closes a blocking channel when a thread in one of its operations is
     * interrupted, so the write runs on the transport's own thread.
     */
    @Test
    void anInterruptedCallerDoesNotCloseTheConnection() throws Exception {
        connect();
        Future<?> interrupted = pool.submit(() -> {
            Thread.currentThread().interrupt();
            return client.execute("query-status", null);
        });
        interrupted.get(5, TimeUnit.SECONDS);
        JsonNode first = server.readCommand();
        server.reply(first, "{\"status\": \"running\", \"singlestep\": false, \"running\": true}");
        CompletableFuture<QmpResults.StatusInfo> after = client.queryStatus();
        JsonNode cmd = server.readCommand();
        server.reply(cmd, "{\"status\": \"running\", \"singlestep\": false, \"running\": true}");
        assertEquals(new QmpResults.StatusInfo("running", true), QmpClient.join(after));
        assertEquals(QmpState.RUNNING, client.state());
    }

    @Test
    void qemuErrorBecomesExecuteExceptionWithClassAndCommand() throws Exception {
        connect();
        CompletableFuture<Void> del = client.blockdevDel("nope");
        JsonNode cmd = server.readCommand();
        server.send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Failed to find node with node-name='nope'\"},"
                + " \"id\": \"" + cmd.get("id").asText() + "\"}\r\n");
        QmpExecuteException e = assertInstanceOf(QmpExecuteException.class, failureOf(del));
        assertEquals("GenericError", e.errorClass());
        assertEquals("Failed to find node with node-name='nope'", e.description());
        assertEquals("blockdev-del", e.command());
        assertEquals("{\"node-name\":\"nope\"}", e.arguments().toString());
        assertTrue(e.getMessage().contains("blockdev-del {\"node-name\":\"nope\"} failed: GenericError"),
                e.getMessage());
    }

    @Test
    void socketCloseFailsEveryPendingCallAndEveryLaterOne() throws Exception {
        connect();
        try (QmpEventListener waiting = client.listen("waiter", EventFilter.named("NEVER"))) {
            List<CompletableFuture<JsonNode>> calls = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                calls.add(client.execute("query-status", null));
            }
            for (int i = 0; i < 5; i++) {
                server.readCommand();
            }
            Future<Throwable> listenerFailure = pool.submit(
                    () -> assertThrows(QmpConnectionLostException.class, () -> waiting.next(Duration.ofSeconds(20))));
            long t0 = System.nanoTime();
            server.dropClient();
            for (CompletableFuture<JsonNode> c : calls) {
                Throwable t = failureOf(c);
                assertInstanceOf(QmpConnectionLostException.class, t);
                assertTrue(t.getMessage().contains("closed by the peer"), t.getMessage());
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms < 1000, "pending calls failed after " + ms + " ms");
            assertTrue(listenerFailure.get(5, TimeUnit.SECONDS).getMessage().contains("waiter"));
            assertEquals(QmpState.CLOSED, client.state());
            assertEquals(0, client.pendingCount());
            CompletableFuture<JsonNode> later = client.execute("query-status", null);
            assertTrue(later.isCompletedExceptionally(), "a call after the loss fails at once");
            assertInstanceOf(QmpConnectionLostException.class, failureOf(later));
        }
    }

    @Test
    void deadlineGivesTimeoutAndTheLateReplyIsIgnored() throws Exception {
        connect();
        long t0 = System.nanoTime();
        CompletableFuture<QmpResults.StatusInfo> slow = client.execute(new QmpCommands.QueryStatus(),
                Duration.ofMillis(200));
        JsonNode cmd = server.readCommand();
        QmpTimeoutException e = assertInstanceOf(QmpTimeoutException.class, failureOf(slow));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms >= 190 && ms < 2000, "timed out after " + ms + " ms");
        assertTrue(e.getMessage().contains("query-status (vmmig-2) got no reply"), e.getMessage());
        assertEquals(0, client.pendingCount());

        server.reply(cmd, "{\"status\": \"running\", \"running\": true}"); // late: must be ignored
        CompletableFuture<JsonNode> next = client.execute("query-version", null);
        JsonNode cmd2 = server.readCommand();
        server.reply(cmd2, "{\"marker\": 42}");
        assertEquals(42, QmpClient.join(next).get("marker").asInt());
        assertEquals(QmpState.RUNNING, client.state(), "late reply did not break the connection");
    }

    @Test
    void defaultDeadlineAppliesWhenNoneGiven() throws Exception {
        connect(QmpClient.Options.defaults().withCommandTimeout(Duration.ofMillis(150)));
        CompletableFuture<Void> stop = client.stop();
        server.readCommand();
        assertInstanceOf(QmpTimeoutException.class, failureOf(stop));
    }

    @Test
    void replyWithAnIdNeverIssuedIsAProtocolErrorThatEndsTheConnection() throws Exception {
        connect();
        CompletableFuture<JsonNode> pending = client.execute("query-status", null);
        server.readCommand();
        server.send("{\"return\": {}, \"id\": \"vmmig-999\"}\r\n");
        Throwable t = failureOf(pending);
        assertInstanceOf(QmpConnectionLostException.class, t);
        assertTrue(t.getMessage().contains("return for unknown id 'vmmig-999'"), t.getMessage());
        assertInstanceOf(QmpProtocolException.class, t.getCause().getCause(), "protocol error is the root cause");
        assertEquals(QmpState.CLOSED, client.state());
    }

    @Test
    void garbageFromThePeerFailsPendingCallsWithTheProtocolErrorAsCause() throws Exception {
        connect();
        CompletableFuture<JsonNode> pending = client.execute("query-status", null);
        server.readCommand();
        server.send("{\"return\": {}, \"id\": \"vmmig-2\"}\r\n<html>oops</html>\r\n");
        // the valid reply came first and is delivered; the garbage then ends the connection
        assertEquals("{}", QmpClient.join(pending).toString());
        CompletableFuture<JsonNode> after = client.execute("query-status", null);
        Throwable t = failureOf(after);
        assertInstanceOf(QmpConnectionLostException.class, t);
        Throwable root = t;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        assertInstanceOf(QmpProtocolException.class, root);
        assertTrue(root.getMessage().contains("expected '{'"), root.getMessage());
    }

    @Test
    void eofInTheMiddleOfAMessageIsReported() throws Exception {
        connect();
        CompletableFuture<JsonNode> pending = client.execute("query-status", null);
        server.readCommand();
        server.send("{\"return\": {\"status\": \"ru");
        server.dropClient();
        Throwable t = failureOf(pending);
        assertTrue(t.getMessage().contains("stream ended in the middle of a message"), t.getMessage());
    }

    @Test
    void manyThreadsWithManyCommandsInFlightAreAllMatched() throws Exception {
        connect();
        int threads = 8;
        int perThread = 250;
        int total = threads * perThread;
        // the peer answers in batches, in reverse order, echoing each command's argument
        Future<?> peer = pool.submit(() -> {
            List<JsonNode> batch = new ArrayList<>();
            for (int i = 0; i < total; i++) {
                batch.add(server.readCommand());
                if (batch.size() == 16 || i == total - 1) {
                    Collections.reverse(batch);
                    StringBuilder sb = new StringBuilder();
                    for (JsonNode c : batch) {
                        sb.append("{\"return\": {\"echo\": ").append(c.path("arguments").path("n"))
                                .append("}, \"id\": ").append(c.get("id")).append("}\r\n");
                    }
                    server.send(sb.toString());
                    batch.clear();
                }
            }
            return null;
        });
        List<Future<Integer>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int base = t * perThread;
            workers.add(pool.submit(() -> {
                List<CompletableFuture<JsonNode>> mine = new ArrayList<>();
                for (int i = 0; i < perThread; i++) {
                    ObjectNode args = client.mapper().createObjectNode().put("n", base + i);
                    mine.add(client.execute("echo", args));
                }
                int ok = 0;
                for (int i = 0; i < perThread; i++) {
                    assertEquals(base + i, QmpClient.join(mine.get(i)).get("echo").asInt());
                    ok++;
                }
                return ok;
            }));
        }
        int ok = 0;
        for (Future<Integer> w : workers) {
            ok += w.get(20, TimeUnit.SECONDS);
        }
        peer.get(5, TimeUnit.SECONDS);
        assertEquals(total, ok);
        assertEquals(0, client.pendingCount());
    }

    @Test
    void eventsGoToEveryMatchingScopedListenerAndNowhereElse() throws Exception {
        connect();
        String job0 = "{\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"status\": \"%s\", \"id\": \"job0\"}, "
                + "\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n";
        String job1 = "{\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"status\": \"running\", \"id\": \"job1\"}, "
                + "\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}}\r\n";
        String stop = "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 4}}\r\n";
        try (QmpEventListener jobs0 = client.listen("job0", EventFilter.jobStatus("job0"));
             QmpEventListener all = client.listen("all", EventFilter.any())) {
            QmpEventListener stops = client.listen("stops", EventFilter.named("STOP"));
            assertEquals(3, client.listenerCount());
            CompletableFuture<JsonNode> status = client.execute("query-status", null);
            JsonNode cmd = server.readCommand();
            server.send(String.format(job0, "created") + job1 + stop);
            server.reply(cmd, "{}");
            server.send(String.format(job0, "running"));
            QmpClient.join(status);

            assertEquals("created", jobs0.next(Duration.ofSeconds(5)).dataText("status"));
            QmpEvent running = jobs0.await(e -> "running".equals(e.dataText("status")), Duration.ofSeconds(5));
            assertEquals("job0", running.dataText("id"));
            QmpTimeoutException none = assertThrows(QmpTimeoutException.class,
                    () -> jobs0.next(Duration.ofMillis(50)), "job0 had exactly two events");
            assertTrue(none.getMessage().contains("listener 'job0'"), none.getMessage());

            List<String> seen = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                QmpEvent e = all.next(Duration.ofSeconds(5));
                seen.add(e.name() + ":" + e.dataText("id") + ":" + e.dataText("status"));
            }
            assertEquals(List.of("JOB_STATUS_CHANGE:job0:created", "JOB_STATUS_CHANGE:job1:running",
                    "STOP:null:null", "JOB_STATUS_CHANGE:job0:running"), seen);

            QmpEvent s = stops.next(Duration.ofSeconds(5));
            assertEquals(java.time.Instant.ofEpochSecond(1, 4000), s.timestamp());
            assertTrue(stops.poll().isEmpty());
            stops.close();
        }
        assertEquals(0, client.listenerCount(), "closed listeners are unregistered");
    }

    @Test
    void listenerReceivesEventsInOrderAndStopsAfterClose() throws Exception {
        connect();
        String ev = "{\"event\": \"E\", \"data\": {\"n\": \"%d\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 1}}";
        QmpEventListener l = client.listen("e", EventFilter.named("E"));
        QmpEventListener other = client.listen("other", EventFilter.named("F"));
        for (int i = 0; i < 3; i++) {
            server.send(String.format(ev, i));
        }
        assertEquals("0", l.next(Duration.ofSeconds(5)).dataText("n"));
        assertEquals("2", l.await(e -> "2".equals(e.dataText("n")), Duration.ofSeconds(5)).dataText("n"));
        l.close();
        server.send(String.format(ev, 3));
        // round trip proves the event after close was read and dispatched before we look
        CompletableFuture<JsonNode> ping = client.execute("query-status", null);
        server.reply(server.readCommand(), "{}");
        QmpClient.join(ping);
        assertTrue(l.poll().isEmpty(), "closed listener got no more events");
        assertTrue(other.drain().isEmpty(), "non-matching events are not queued");
        QmpTimeoutException e = assertThrows(QmpTimeoutException.class, () -> other.next(Duration.ofMillis(50)));
        assertTrue(e.getMessage().contains("'other'"), e.getMessage());
        other.close();
        assertEquals(0, client.listenerCount());
    }

    @Test
    void fullListenerQueueDropsAndCountsInsteadOfGrowing() throws Exception {
        connect(QmpClient.Options.defaults().withListenerCapacity(4));
        try (QmpEventListener l = client.listen("small", EventFilter.any())) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 10; i++) {
                sb.append("{\"event\": \"E\", \"data\": {\"n\": ").append(i)
                        .append("}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 1}}\r\n");
            }
            server.send(sb.toString());
            CompletableFuture<JsonNode> ping = client.execute("query-status", null);
            server.reply(server.readCommand(), "{}");
            QmpClient.join(ping);
            List<QmpEvent> got = l.drain();
            assertEquals(4, got.size());
            assertEquals("0", got.get(0).dataText("n"), "oldest kept, newest dropped");
            assertEquals(6, l.dropped());
        }
    }

    @Test
    void missingGreetingTimesOutAndReleasesTheSocket() throws Exception {
        Future<?> accepted = pool.submit(() -> {
            server.accept();
            return null;
        });
        long t0 = System.nanoTime();
        QmpTimeoutException e = assertThrows(QmpTimeoutException.class, () -> QmpClient.connect(server.endpoint(),
                QmpClient.Options.defaults().withNegotiationTimeout(Duration.ofMillis(300))));
        assertTrue(e.getMessage().contains("no QMP greeting"), e.getMessage());
        assertTrue(e.getMessage().contains("accepted the connection but sent no greeting: another client")
                && e.getMessage().contains("QEMU serves one client per monitor"), "says why: " + e.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(3));
        accepted.get(5, TimeUnit.SECONDS);
        assertThrows(IOException.class, server::readCommand, "client closed its socket");
    }

    @Test
    void connectingToAMissingSocketFailsClearly() {
        Path missing = Path.of("/nonexistent-dir/qmp.sock");
        QmpConnectionLostException e = assertThrows(QmpConnectionLostException.class,
                () -> QmpClient.connect(missing));
        assertTrue(e.getMessage().contains("cannot connect to QMP at unix:/nonexistent-dir/qmp.sock"), e.getMessage());
    }

    @Test
    void blockingOnAReplyInsideACallbackIsRefusedInsteadOfDeadlocking() throws Exception {
        connect();
        CompletableFuture<Object> nested = client.execute("first", null)
                .thenApply(r -> QmpClient.join(client.execute("second", null)));
        server.reply(server.readCommand(), "{}");
        server.readCommand();
        Throwable t = assertThrows(IllegalStateException.class, () -> {
            try {
                nested.get(5, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause();
            }
        });
        assertTrue(t.getMessage().contains("reader thread"), t.getMessage());
        assertEquals(QmpState.RUNNING, client.state());
    }

    @Test
    void closeFailsPendingCallsAndEndsListeners() throws Exception {
        connect();
        QmpEventListener l = client.listen("l", EventFilter.any());
        CompletableFuture<JsonNode> pending = client.execute("query-status", null);
        server.readCommand();
        client.close();
        Throwable t = failureOf(pending);
        assertTrue(t.getMessage().contains("closed by the client"), t.getMessage());
        assertThrows(QmpConnectionLostException.class, () -> l.next(Duration.ofSeconds(5)));
        assertEquals(QmpState.CLOSED, client.state());
    }
}
