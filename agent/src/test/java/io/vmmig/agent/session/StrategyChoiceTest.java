package io.vmmig.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.MirrorSource;
import org.junit.jupiter.api.Test;

class StrategyChoiceTest {
    @Test
    void namesAndAliases() throws Exception {
        assertEquals(new StrategyChoice("hybrid", Strategy.HYBRID, null), StrategyChoice.parse(null));
        assertEquals(new StrategyChoice("hybrid", Strategy.HYBRID, null), StrategyChoice.parse(" Hybrid "));
        assertEquals(new StrategyChoice("precopy", Strategy.PRECOPY, null), StrategyChoice.parse("pre-copy"));
        assertEquals(new StrategyChoice("postcopy", Strategy.POSTCOPY, null), StrategyChoice.parse("POSTCOPY"));
        assertEquals(new StrategyChoice("mirror", Strategy.MIRROR, MirrorSource.Mode.BACKGROUND), StrategyChoice.parse("mirror-bg"));
        assertEquals(new StrategyChoice("mirror-wb", Strategy.MIRROR, MirrorSource.Mode.WRITE_BLOCKING), StrategyChoice.parse("mirror-wb"));
        assertNull(StrategyChoice.parse("precopy").mirrorMode());
    }

    @Test
    void onlyMirrorLeavesTheTransferToQemu() throws Exception {
        for (String n : new String[] {"hybrid", "precopy", "postcopy"}) assertTrue(StrategyChoice.parse(n).chunkTransfer(), n);
        assertFalse(StrategyChoice.parse("mirror").chunkTransfer());
        assertFalse(StrategyChoice.parse("mirror-wb").chunkTransfer());
    }

    @Test
    void unknownNameListsTheChoices() {
        AgentException e = assertThrows(AgentException.class, () -> StrategyChoice.parse("teleport"));
        assertEquals(ErrorKind.BAD_REQUEST, e.kind());
        assertEquals("unknown strategy 'teleport': choose one of hybrid, precopy, postcopy, mirror, mirror-wb", e.getMessage());
    }
}
