package io.vmmig.agent.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpEventListener;
import io.vmmig.qmp.QmpTimeoutException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes one migration's traces from a source QEMU that did not switch over, by name
 * ({@code vmmig-ID...}): cancels a running memory migration, cancels vmmig's block jobs, removes its
 * block exports (and stops the NBD server that served them), its dirty bitmaps, and restores the
 * migration capabilities vmmig turned on. Each step is best effort and logged; the guest runs on.
 */
final class SourceCleanup implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(SourceCleanup.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    /** Migration states after which QEMU runs no memory migration. */
    private static final java.util.Set<String> ENDED = java.util.Set.of("none", "failed", "cancelled", "completed");
    private static final java.time.Duration CANCEL_DEADLINE = java.time.Duration.ofSeconds(30);
    private static final java.time.Duration RECHECK = java.time.Duration.ofSeconds(1);

    private final QmpClient qmp;
    private final String prefix;
    private final String capabilitiesBefore;

    private SourceCleanup(QmpClient qmp, String migrationId, String capabilitiesBefore) {
        this.qmp = qmp;
        this.prefix = "vmmig-" + migrationId;
        this.capabilitiesBefore = capabilitiesBefore;
    }

    /** @param capabilitiesBefore {@code name=true|false,...} as they were before vmmig, or null if unknown */
    static SourceCleanup of(QmpClient qmp, String migrationId, String capabilitiesBefore) {
        return new SourceCleanup(qmp, migrationId, capabilitiesBefore);
    }

    @Override
    public void run() {
        cancelMigration();
        for (JsonNode j : RestartRecovery.call(qmp, "query-block-jobs")) {
            String id = j.path("device").asText();
            if (id.startsWith(prefix)) step("block-job-cancel " + id, "block-job-cancel", F.objectNode().put("device", id).put("force", true));
        }
        boolean exported = false;
        for (JsonNode e : RestartRecovery.call(qmp, "query-block-exports")) {
            String id = e.path("id").asText();
            if (id.startsWith(prefix)) {
                exported = true;
                step("block-export-del " + id, "block-export-del", F.objectNode().put("id", id).put("mode", "hard"));
            }
        }
        if (exported) step("nbd-server-stop", "nbd-server-stop", F.objectNode());
        for (JsonNode n : RestartRecovery.call(qmp, "query-named-block-nodes")) {
            String node = n.path("node-name").asText();
            for (JsonNode b : n.path("dirty-bitmaps")) {
                String name = b.path("name").asText();
                if (name.startsWith(prefix))
                    step("block-dirty-bitmap-remove " + node + "/" + name, "block-dirty-bitmap-remove",
                            F.objectNode().put("node", node).put("name", name));
            }
        }
        for (JsonNode n : RestartRecovery.call(qmp, "query-named-block-nodes")) {
            String node = n.path("node-name").asText();
            if (node.startsWith(prefix)) step("blockdev-del " + node, "blockdev-del", F.objectNode().put("node-name", node));
        }
        restoreCapabilities();
    }

    /**
     * Cancels the memory migration vmmig left running, and waits (up to {@link #CANCEL_DEADLINE}) for it
     * to end: {@code migrate_cancel} is asynchronous and capabilities change only after it. The end is
     * QEMU's MIGRATION event (vmmig runs its migrations with the {@code events} capability); the
     * status is read again whenever no event came for {@link #RECHECK}, in case that capability was off.
     */
    private void cancelMigration() {
        try (QmpEventListener events = qmp.listen("end of the migration after migrate_cancel", EventFilter.named("MIGRATION"))) {
            String status = migrationStatus();
            if (ENDED.contains(status)) return;
            step("migrate_cancel (was " + status + ")", "migrate_cancel", F.objectNode());
            long deadline = System.nanoTime() + CANCEL_DEADLINE.toNanos();
            while (!ENDED.contains(migrationStatus())) {
                if (System.nanoTime() > deadline) {
                    LOG.warn("{}: the memory migration did not end within {} s of migrate_cancel", prefix, CANCEL_DEADLINE.toSeconds());
                    return;
                }
                try {
                    events.await(e -> ENDED.contains(e.dataText("status")), RECHECK);
                } catch (QmpTimeoutException e) {
                    // no event: ask again
                }
            }
        }
    }

    private String migrationStatus() {
        return RestartRecovery.call(qmp, "query-migrate").path("status").asText("none");
    }

    private void restoreCapabilities() {
        if (capabilitiesBefore == null || capabilitiesBefore.isBlank()) return;
        ArrayNode caps = F.arrayNode();
        List<String> names = new ArrayList<>();
        for (String kv : capabilitiesBefore.split(",")) {
            String[] p = kv.split("=", 2);
            if (p.length != 2) continue;
            caps.addObject().put("capability", p[0]).put("state", Boolean.parseBoolean(p[1]));
            names.add(kv);
        }
        ObjectNode args = F.objectNode();
        args.set("capabilities", caps);
        step("migrate-set-capabilities " + names, "migrate-set-capabilities", args);
    }

    private void step(String what, String command, ObjectNode args) {
        try {
            RestartRecovery.call(qmp, command, args);
            LOG.info("{}: removed after a restart: {}", prefix, what);
        } catch (RuntimeException e) {
            LOG.warn("{}: {} failed: {}", prefix, what, e.toString());
        }
    }
}
