package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdException;
import io.vmmig.nbd.protocol.NbdOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Faults a real server never sends, from a scripted peer. */
class ProtocolFaultTest {
    @TempDir
    Path dir;

    private static void structuredData(DataOutputStream out, long cookie, boolean done, long offset, byte[] data) throws Exception {
        new ReplyBytesWriter(out).write(new ReplyBytes().data(cookie, done, offset, data).bytes());
    }

    /** Tiny adapter so scripts can send ReplyBytes. */
    private record ReplyBytesWriter(DataOutputStream out) {
        void write(byte[] b) throws Exception {
            out.write(b);
            out.flush();
        }
    }

    private static void assertAllLost(List<CompletableFuture<Void>> futures, String causeText) {
        for (CompletableFuture<Void> f : futures) {
            NbdException e = assertThrows(NbdException.class, () -> NbdClient.await(f));
            assertInstanceOf(NbdConnectionLostException.class, e, e.toString());
            assertInstanceOf(NbdProtocolException.class, e.getCause(), e.toString());
            assertTrue(e.getMessage().contains(causeText), e.getMessage());
        }
    }

    @Test
    void replyForUnknownCookieFailsEveryPendingRequest() throws Exception {
        try (FakeNbdPeer peer = new FakeNbdPeer(dir, 1 << 20, 0, 0, 0, (in, out) -> {
            for (int i = 0; i < 5; i++) FakeNbdPeer.readRequest(in);
            structuredData(out, 999_999, true, 0, new byte[16]);
        }); NbdClient c = NbdClient.connect(peer.socket, NbdClientOptions.of("x"))) {
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            for (int i = 0; i < 5; i++) futures.add(c.read(i * 16L, ByteBuffer.allocate(16)));
            assertAllLost(futures, "unknown cookie");
            NbdException after = assertThrows(NbdException.class, () -> NbdClient.await(c.read(0, ByteBuffer.allocate(1))));
            assertInstanceOf(NbdConnectionLostException.class, after);
            peer.awaitScript();
        }
    }

    @Test
    void dataOutsideTheRequestedRangeIsAProtocolViolation() throws Exception {
        try (FakeNbdPeer peer = new FakeNbdPeer(dir, 1 << 20, 0, 0, 0, (in, out) -> {
            FakeNbdPeer.Request r = FakeNbdPeer.readRequest(in);
            structuredData(out, r.cookie(), true, r.offset() + 8, new byte[16]);
        }); NbdClient c = NbdClient.connect(peer.socket, NbdClientOptions.of("x"))) {
            assertAllLost(List.of(c.read(4096, ByteBuffer.allocate(16))), "outside of READ");
        }
    }

    @Test
    void readReplyEndingBeforeCoveringTheRangeIsAProtocolViolation() throws Exception {
        try (FakeNbdPeer peer = new FakeNbdPeer(dir, 1 << 20, 0, 0, 0, (in, out) -> {
            FakeNbdPeer.Request r = FakeNbdPeer.readRequest(in);
            structuredData(out, r.cookie(), true, r.offset(), new byte[8]);
        }); NbdClient c = NbdClient.connect(peer.socket, NbdClientOptions.of("x"))) {
            assertAllLost(List.of(c.read(0, ByteBuffer.allocate(16))), "covering 8 bytes");
        }
    }

    @Test
    void optionErrorCarriesOptionErrorAndMessage() throws Exception {
        try (FakeNbdPeer peer = new FakeNbdPeer(dir, 1 << 20, 0, 0, NbdOption.REP_ERR_POLICY, (in, out) -> { })) {
            NbdOptionException e = assertThrows(NbdOptionException.class, () -> NbdClient.connect(peer.socket, NbdClientOptions.of("x")));
            assertEquals(NbdOption.REP_ERR_POLICY, e.replyType());
            assertEquals("option NBD_OPT_GO refused by the server: NBD_REP_ERR_POLICY: go away", e.getMessage());
        }
    }

    @Test
    @SuppressWarnings("try")   // closes the client explicitly to see the DISC arrive
    void readsAreSplitAtTheAdvertisedMaximumAndUnadvertisedCommandsRefused() throws Exception {
        List<FakeNbdPeer.Request> seen = new ArrayList<>();
        byte[] image = QemuNbdInteropTest.pattern(10_000, 13);
        try (FakeNbdPeer peer = new FakeNbdPeer(dir, image.length, NbdCommand.TX_READ_ONLY, 4096, 0, (in, out) -> {
            for (int i = 0; i < 3; i++) {
                FakeNbdPeer.Request r = FakeNbdPeer.readRequest(in);
                seen.add(r);
                byte[] d = java.util.Arrays.copyOfRange(image, (int) r.offset(), (int) r.offset() + r.length());
                structuredData(out, r.cookie(), true, r.offset(), d);
            }
            seen.add(FakeNbdPeer.readRequest(in));   // the orderly close
        }); NbdClient c = NbdClient.connect(peer.socket, NbdClientOptions.of("x"))) {
            assertEquals(4096, c.export().maximumBlockSize());
            ByteBuffer b = ByteBuffer.allocate(10_000);
            NbdClient.await(c.read(0, b));
            assertArrayEquals(image, b.array());
            for (CompletableFuture<Void> f : List.of(c.flush(), c.trim(0, 512, false), c.cache(0, 512), c.writeZeroes(0, 512, 0))) {
                NbdRefusedException e = assertThrows(NbdRefusedException.class, () -> NbdClient.await(f));
                assertTrue(e.getMessage().contains("does not advertise"), e.getMessage());
            }
            c.close();
            peer.awaitScript();
            assertEquals(List.of(4096, 4096, 1808, 0), seen.stream().map(FakeNbdPeer.Request::length).toList());
            assertEquals(NbdCommand.DISC.code, seen.get(3).type());
        }
    }
}
