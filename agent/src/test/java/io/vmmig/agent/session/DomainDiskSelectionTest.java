package io.vmmig.agent.session;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.libvirt.DomainDisk;
import java.util.List;
import org.junit.jupiter.api.Test;

class DomainDiskSelectionTest {
    private static final List<DomainDisk> DISKS = List.of(
            new DomainDisk("vda", "file", "disk", "qcow2", "/srv/vmimg/d.qcow2", false, false, null),
            new DomainDisk("vdb", "file", "disk", "raw", "/srv/vmimg/d-data.raw", false, false, null),
            new DomainDisk("sda", "file", "cdrom", "raw", "/iso/install.iso", true, false, null));

    @Test
    void noSelectionAndEveryMovableDiskPass() {
        assertDoesNotThrow(() -> DomainDiskSelection.check("d", DISKS, null));
        assertDoesNotThrow(() -> DomainDiskSelection.check("d", DISKS, List.of("vdb", "vda")));
    }

    @Test
    void aDiskLeftOutIsRefusedNamingIt() {
        AgentException e = assertThrows(AgentException.class, () -> DomainDiskSelection.check("d", DISKS, List.of("vda")));
        assertEquals(ErrorKind.ENVIRONMENT, e.kind());
        assertTrue(e.getMessage().contains("leaves out vdb (/srv/vmimg/d-data.raw)"), e.getMessage());
    }

    @Test
    void anUnknownOrUnmovedDiskIsABadRequest() {
        AgentException unknown = assertThrows(AgentException.class, () -> DomainDiskSelection.check("d", DISKS, List.of("vda", "vdc")));
        assertEquals(ErrorKind.BAD_REQUEST, unknown.kind());
        assertTrue(unknown.getMessage().contains("has no disk vdc (its disks: vda, vdb, sda)"), unknown.getMessage());
        AgentException cd = assertThrows(AgentException.class, () -> DomainDiskSelection.check("d", DISKS, List.of("vda", "vdb", "sda")));
        assertEquals(ErrorKind.BAD_REQUEST, cd.kind());
        assertTrue(cd.getMessage().contains("does not move sda of domain d (cdrom device)"), cd.getMessage());
    }
}
