package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestGateTest {

    static ExportInfo export(int flags, int min, Map<String, Integer> contexts) {
        return new ExportInfo("e", null, 1 << 20, flags | NbdCommand.TX_HAS_FLAGS, min, 4096, 32 << 20, true, contexts);
    }

    static void refused(NbdRefusedException e, String text) {
        assertTrue(e != null && e.getMessage().contains(text), e == null ? "not refused" : e.getMessage());
    }

    @Test
    void eachCommandNeedsItsAdvertisedFlag() {
        RequestGate bare = new RequestGate(export(0, 1, Map.of()), true);
        refused(bare.refusal(NbdCommand.FLUSH, 0, 0, 0), "NBD_FLAG_SEND_FLUSH");
        refused(bare.refusal(NbdCommand.TRIM, 0, 0, 512), "NBD_FLAG_SEND_TRIM");
        refused(bare.refusal(NbdCommand.CACHE, 0, 0, 512), "NBD_FLAG_SEND_CACHE");
        refused(bare.refusal(NbdCommand.WRITE_ZEROES, 0, 0, 512), "NBD_FLAG_SEND_WRITE_ZEROES");
        refused(bare.refusal(NbdCommand.WRITE, NbdCommand.FLAG_FUA, 0, 512), "NBD_FLAG_SEND_FUA");
        refused(bare.refusal(NbdCommand.BLOCK_STATUS, 0, 0, 512), "no meta context");
        assertNull(bare.refusal(NbdCommand.READ, 0, 0, 512));
        assertNull(bare.refusal(NbdCommand.WRITE, 0, 0, 512));

        RequestGate zero = new RequestGate(export(NbdCommand.TX_SEND_WRITE_ZEROES, 1, Map.of()), true);
        assertNull(zero.refusal(NbdCommand.WRITE_ZEROES, NbdCommand.FLAG_NO_HOLE, 0, 512));
        refused(zero.refusal(NbdCommand.WRITE_ZEROES, NbdCommand.FLAG_FAST_ZERO, 0, 512), "NBD_FLAG_SEND_FAST_ZERO");
        refused(zero.refusal(NbdCommand.TRIM, NbdCommand.FLAG_NO_HOLE, 0, 512), "NBD_FLAG_SEND_TRIM");
        refused(bare.refusal(NbdCommand.READ, NbdCommand.FLAG_NO_HOLE, 0, 512), "not valid");
    }

    @Test
    void readOnlyBoundsAndAlignment() {
        RequestGate ro = new RequestGate(export(NbdCommand.TX_READ_ONLY | NbdCommand.TX_SEND_TRIM, 512, Map.of("base:allocation", 1)), true);
        refused(ro.refusal(NbdCommand.WRITE, 0, 0, 512), "read-only");
        refused(ro.refusal(NbdCommand.TRIM, 0, 0, 512), "read-only");
        refused(ro.refusal(NbdCommand.READ, 0, (1 << 20) - 512, 1024), "past the end");
        refused(ro.refusal(NbdCommand.READ, 0, 100, 512), "not aligned to the minimum block size 512");
        refused(ro.refusal(NbdCommand.READ, 0, -512, 512), "negative");
        assertNull(ro.refusal(NbdCommand.BLOCK_STATUS, NbdCommand.FLAG_REQ_ONE, 512, 4096));
        RequestGate unchecked = new RequestGate(export(0, 1, Map.of()), false);
        assertNull(unchecked.refusal(NbdCommand.READ, 0, 1 << 20, 4096));
    }
}
