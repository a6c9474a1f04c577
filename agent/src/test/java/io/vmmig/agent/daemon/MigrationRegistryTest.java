package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class MigrationRegistryTest {
    private final MigrationRegistry registry = new MigrationRegistry();

    @Test
    void idsAreFreshAndShaped() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String id = registry.newId();
            assertTrue(id.matches("m-[0-9a-f]{8}"), id);
            ids.add(id);
        }
        assertTrue(ids.size() >= 999, "ids repeat: " + ids.size());
    }

    @Test
    void addGetAndAll() throws Exception {
        MigrationRecord a = new MigrationRecord("m-a", "source", "web1", "d:7410", "hybrid");
        MigrationRecord b = new MigrationRecord("m-b", "destination", "web2", "s:1", "mirror");
        registry.add(a);
        registry.add(b);
        assertSame(a, registry.get("m-a"));
        assertEquals(Set.of(a, b), Set.copyOf(registry.all()));
        AgentException dup = assertThrows(AgentException.class, () -> registry.add(new MigrationRecord("m-a", "source", "x", "y", "z")));
        assertEquals(ErrorKind.BAD_REQUEST, dup.kind());
        assertTrue(dup.getMessage().contains("m-a already exists"), dup.getMessage());
        AgentException none = assertThrows(AgentException.class, () -> registry.get("m-zz"));
        assertEquals(ErrorKind.NOT_FOUND, none.kind());
        assertEquals("no migration m-zz on this agent", none.getMessage());
    }

    @Test
    void allIsInStartOrder() throws Exception {
        for (int i = 0; i < 50; i++) registry.add(new MigrationRecord("m-" + i, "source", "vm", "p", "hybrid"));
        List<MigrationRecord> all = registry.all();
        for (int i = 1; i < all.size(); i++) {
            var before = java.time.Instant.parse(all.get(i - 1).status().startedAt());
            var after = java.time.Instant.parse(all.get(i).status().startedAt());
            assertFalse(after.isBefore(before), all.get(i - 1).status().startedAt() + " listed before " + all.get(i).status().startedAt());
        }
    }

    @Test
    void dataConnectionsGoToWhoeverExpectsThem() throws Exception {
        PeerChannel ch = new NullChannel("src:1");
        assertFalse(registry.dataArrived("m-1", ch), "nobody expects m-1 yet");
        CompletableFuture<PeerChannel> f = registry.expectData("m-1");
        assertSame(f, registry.expectData("m-1"), "one future per migration");
        assertTrue(registry.dataArrived("m-1", ch));
        assertSame(ch, f.getNow(null));
        assertFalse(registry.dataArrived("m-1", new NullChannel("src:2")), "a second data connection is refused");
        registry.forgetData("m-1");
        assertFalse(registry.dataArrived("m-1", ch));
    }

    /** A channel nothing flows through (only its identity matters here). */
    private record NullChannel(String remote) implements PeerChannel {
        @Override public void start(Handler handler) { }
        @Override public void send(Frame frame) { }
        @Override public CompletableFuture<Void> closed() { return new CompletableFuture<>(); }
        @Override public void close() { }
    }
}
