package io.vmmig.agent.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.vm.VmDescription.Accel;
import io.vmmig.agent.vm.VmDescription.Memory;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TcgDirtyTrackingTest {
    static VmDescription vm(String accel, Memory m) {
        VmDescription min = Descriptions.minimal("disk0");
        return new VmDescription(min.schema(), min.name(), min.uuid(), min.machine(), accel == null ? null : new Accel(accel, Map.of()),
                min.cpu(), min.smp(), m, min.boot(), min.rtc(), min.flags(), min.display(), min.vga(), min.objects(), min.chardevs(),
                min.monitors(), min.serials(), min.netdevs(), min.devices(), min.disks());
    }

    @Test
    void tcgWithWholeMibOnQemu7IsWarnedAboutAndTheWarningSaysWhatToDo() {
        Optional<String> w = TcgDirtyTracking.warning(7, vm("tcg", new Memory(256L, null, null)));
        assertTrue(w.isPresent());
        assertTrue(w.get().contains("262152K"), w.get());
        assertTrue(TcgDirtyTracking.warning(7, vm(null, null)).isPresent(), "QEMU's defaults: TCG, 128 MiB");
    }

    @Test
    void kvmUnalignedRamOrQemu9AreNot() {
        assertEquals(Optional.empty(), TcgDirtyTracking.warning(7, vm("kvm", new Memory(256L, null, null))));
        assertEquals(Optional.empty(), TcgDirtyTracking.warning(7, vm("tcg", new Memory(null, null, null, 262152L))));
        assertEquals(Optional.empty(), TcgDirtyTracking.warning(9, vm("tcg", new Memory(256L, null, null))));
    }
}
