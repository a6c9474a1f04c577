package io.vmmig.agent.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.strategy.qemu.MemorySettings;

/**
 * The memory migration's settings as the source QEMU reported them ({@code query-migrate-parameters} and the
 * {@code auto-converge} capability, read back after vmmig set them), for the migration's report. JSON:
 * {@code "memorySettings": {"maxBandwidth": BYTES_PER_S, "unlimited": BOOL, "downtimeLimitMillis": MS,
 * "autoConverge": BOOL, "downtimeTargetMillis": MS}} beside the engine's report; absent when vmmig did not issue
 * {@code migrate}. {@code downtimeTargetMillis} is the target QEMU switched over with ({@link
 * io.vmmig.strategy.qemu.DowntimeLadder}: from 50 ms up to {@code downtimeLimitMillis}).
 */
final class MemoryReport {
    private MemoryReport() {
    }

    /** {@code report} (an object) with the {@code memorySettings} member added, if {@code m} is known. */
    static JsonNode addTo(JsonNode report, MemorySettings m, long downtimeTargetMillis) {
        if (m == null) return report;
        ObjectNode o = ((ObjectNode) report).putObject("memorySettings").put("maxBandwidth", m.maxBandwidth()).put("unlimited", m.unlimited())
                .put("downtimeLimitMillis", m.downtimeLimitMillis()).put("autoConverge", m.autoConverge());
        if (downtimeTargetMillis > 0) o.put("downtimeTargetMillis", downtimeTargetMillis);
        return report;
    }

    /** A line for the report's summary ({@code ""} if unknown). */
    static String summaryLine(MemorySettings m, long downtimeTargetMillis) {
        return m == null ? "" : "  QEMU memory migration: " + m.describe() + " (as the source QEMU reports them)"
                + (downtimeTargetMillis > 0 ? "; switched over aiming at " + downtimeTargetMillis + " ms" : "") + "\n";
    }
}
