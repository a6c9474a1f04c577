package io.vmmig.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vmmig.strategy.ChunkGeometry;
import java.util.BitSet;
import org.junit.jupiter.api.Test;

/** qemu-img map of a freeze overlay as QEMU 7.2 printed it for the lab's domain (64 MiB, 16 MiB written, overlay over qcow2). */
class ImageMapTest {
    private static final String MAP = """
            [{ "start": 0, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "offset": 524288},
            { "start": 65536, "length": 131072, "depth": 0, "present": true, "zero": false, "data": true, "offset": 393216},
            { "start": 196608, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "offset": 327680},
            { "start": 262144, "length": 16515072, "depth": 1, "present": true, "zero": false, "data": true, "offset": 589824},
            { "start": 16777216, "length": 50331648, "depth": 1, "present": false, "zero": true, "data": false}]
            """;

    @Test
    void overlayTopIsTheDirtySetAndDataIsWhatToPush() throws Exception {
        ImageMap m = ImageMap.parse(MAP);
        ChunkGeometry g = new ChunkGeometry(64 << 20, 256 << 10);
        BitSet top = m.topChunks(g);
        assertEquals(1, top.cardinality(), "0..256 KiB written since the freeze: chunk 0");
        assertEquals(0, top.nextSetBit(0));
        BitSet data = m.dataChunks(g);
        assertEquals(64, data.cardinality(), "16 MiB of data");
        assertEquals(63, data.previousSetBit(255));
        ChunkGeometry small = new ChunkGeometry(64 << 20, 64 << 10);
        assertEquals(4, m.topChunks(small).cardinality(), "four 64 KiB chunks at 64 KiB granularity");
    }
}
