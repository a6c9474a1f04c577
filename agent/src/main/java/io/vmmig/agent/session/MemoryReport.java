package io.vmmig.agent.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.strategy.qemu.MemorySettings;

/**
 * The memory migration's settings as the source QEMU reported them ({@code query-migrate-parameters} and the
 * {@code auto-converge} capability, read back after vmmig set them), for the migration's report. JSON:
 * {@code "memorySettings": {"maxBandwidth": BYTES_PER_S, "unlimited": BOOL, "downtimeLimitMillis": MS,
 * "autoConverge": BOOL}} beside the engine's report; absent when vmmig did not issue {@code migrate}.
 */
final class MemoryReport {
    private MemoryReport() {
    }

    /** {@code report} (an object) with the {@code memorySettings} member added, if {@code m} is known. */
    static JsonNode addTo(JsonNode report, MemorySettings m) {
        if (m == null) return report;
        ((ObjectNode) report).putObject("memorySettings").put("maxBandwidth", m.maxBandwidth()).put("unlimited", m.unlimited())
                .put("downtimeLimitMillis", m.downtimeLimitMillis()).put("autoConverge", m.autoConverge());
        return report;
    }

    /** A line for the report's summary ({@code ""} if unknown). */
    static String summaryLine(MemorySettings m) {
        return m == null ? "" : "  QEMU memory migration: " + m.describe() + " (as the source QEMU reports them)\n";
    }
}
