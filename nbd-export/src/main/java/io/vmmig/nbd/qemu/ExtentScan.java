package io.vmmig.nbd.qemu;

import io.vmmig.nbd.client.BlockStatus;
import io.vmmig.nbd.client.Extent;
import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.protocol.NbdException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * Walks one meta context of an NBD export with BLOCK_STATUS from start to end and collects the
 * byte ranges whose extent flags match (adjacent ranges merged).
 */
public final class ExtentScan {
    private ExtentScan() {}

    /** Ranges of the whole export whose flags in {@code context} satisfy {@code match}. */
    public static List<ByteRange> ranges(NbdClient client, String context, IntPredicate match) throws NbdException {
        long size = client.export().size();
        List<ByteRange> out = new ArrayList<>();
        long offset = 0;
        long runStart = -1;
        while (offset < size) {
            BlockStatus status = NbdClient.await(client.blockStatus(offset, size - offset, false));
            List<Extent> extents = status.extents(context);
            if (extents == null || extents.isEmpty())
                throw new NbdException("server sent no extents of " + context + " at offset " + offset);
            for (Extent e : extents) {
                long end = Math.min(e.end(), size);
                if (e.offset() != offset || end <= offset)
                    throw new NbdException("extent " + e + " of " + context + " does not continue at " + offset);
                if (match.test(e.flags())) {
                    if (runStart < 0) runStart = offset;
                } else if (runStart >= 0) {
                    out.add(new ByteRange(runStart, offset - runStart));
                    runStart = -1;
                }
                offset = end;
                if (offset >= size) break;
            }
        }
        if (runStart >= 0) out.add(new ByteRange(runStart, size - runStart));
        return out;
    }
}
