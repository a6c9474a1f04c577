package io.vmmig.strategy.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmmig.qmp.command.QmpResults.MigrationParameters;
import org.junit.jupiter.api.Test;

/** The QMP that puts memory settings on QEMU, and how QEMU's answer reads back. */
class MemorySettingsTest {
    private final ObjectMapper mapper = new ObjectMapper();

    @Test
    void parametersAndCapabilityOnTheWire() throws Exception {
        MemorySettings s = new MemorySettings(125_000_000L, 150, true);
        assertEquals("{\"max-bandwidth\":125000000,\"downtime-limit\":150}", mapper.writeValueAsString(s.parametersCommand()));
        assertEquals("migrate-set-parameters", s.parametersCommand().commandName());
        assertEquals("{\"capabilities\":[{\"capability\":\"auto-converge\",\"state\":true}]}",
                mapper.writeValueAsString(s.capabilitiesCommand()));
        assertEquals("{\"max-bandwidth\":9223372036853727232,\"downtime-limit\":300}",
                mapper.writeValueAsString(MemorySettings.defaults().parametersCommand()), "unlimited as libvirt says it");
    }

    @Test
    void readsBackWhatQemuReports() throws Exception {
        MigrationParameters p = mapper.readValue("{\"max-bandwidth\":134217728,\"downtime-limit\":300,\"cpu-throttle-initial\":20,"
                + "\"announce-step\":100}", MigrationParameters.class);
        MemorySettings qemuDefaults = MemorySettings.of(p, false);
        assertEquals(new MemorySettings(128L << 20, 300, false), qemuDefaults);
        assertFalse(qemuDefaults.unlimited());
        assertEquals("max-bandwidth 128.0 MiB/s, downtime-limit 300 ms, auto-converge off", qemuDefaults.describe());
        assertTrue(MemorySettings.of(new MigrationParameters(MemorySettings.UNLIMITED, 50L, null, null, null), true).unlimited());
        assertEquals("max-bandwidth unlimited, downtime-limit 50 ms, auto-converge on",
                MemorySettings.of(new MigrationParameters(MemorySettings.UNLIMITED, 50L, null, null, null), true).describe());
    }
}
