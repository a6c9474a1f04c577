package io.vmmig.strategy.qemu;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MirrorTargetTest {

    @Test
    void unixFormGivesQemuAUnixServerAddress() {
        MirrorTarget t = new MirrorTarget(Path.of("/run/vmmig/m.sock"), "disk");
        assertFalse(t.isTcp());
        assertEquals("{\"type\":\"unix\",\"path\":\"/run/vmmig/m.sock\"}", t.qemuServerAddress().toString());
    }

    @Test
    void tcpFormGivesQemuAnInetServerAddressWithThePortAsAString() {
        MirrorTarget t = MirrorTarget.tcp("192.0.2.7", 10809, "disk");
        assertTrue(t.isTcp());
        assertNull(t.socket());
        assertEquals("{\"type\":\"inet\",\"host\":\"192.0.2.7\",\"port\":\"10809\"}", t.qemuServerAddress().toString());
        assertEquals("nbd://192.0.2.7:10809 export 'disk'", t.toString());
    }

    @Test
    void refusesBothFormsNeitherFormAndBadPorts() {
        assertThrows(IllegalArgumentException.class, () -> new MirrorTarget(Path.of("/s"), "h", 1, "e"));
        assertThrows(IllegalArgumentException.class, () -> new MirrorTarget(null, null, 0, "e"));
        assertThrows(IllegalArgumentException.class, () -> MirrorTarget.tcp("h", 0, "e"));
        assertThrows(IllegalArgumentException.class, () -> MirrorTarget.tcp("h", 70000, "e"));
    }

    @Test
    void destinationConfigTakesATcpListenAddress() {
        var c = new MirrorDestination.Config("m", Path.of("/d.qcow2"), "qcow2", "disk", Path.of("/w"),
                java.time.Duration.ofSeconds(5));
        assertNull(c.tcpListen());
        var tcp = c.withTcpListen("127.0.0.1", 10809);
        assertEquals("127.0.0.1", tcp.tcpListen().getHostString());
        assertEquals(10809, tcp.tcpListen().getPort());
        assertThrows(IllegalArgumentException.class, () -> c.withTcpListen("127.0.0.1", 0));
    }
}
