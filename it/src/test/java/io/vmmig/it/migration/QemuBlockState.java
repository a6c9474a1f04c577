package io.vmmig.it.migration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vmmig.qmp.QmpClient;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a migration may add to a QEMU's block layer, by name: block nodes, dirty bitmaps (per node),
 * block exports and block jobs. Two snapshots compare equal when nothing was left behind.
 */
public record QemuBlockState(Set<String> nodes, Set<String> bitmaps, Set<String> exports, Set<String> jobs) {

    public static QemuBlockState of(QmpClient qmp) {
        Set<String> nodes = new TreeSet<>();
        Set<String> bitmaps = new TreeSet<>();
        for (JsonNode n : call(qmp, "query-named-block-nodes")) {
            String name = n.path("node-name").asText();
            nodes.add(name);
            for (JsonNode b : n.path("dirty-bitmaps")) bitmaps.add(name + "/" + b.path("name").asText());
        }
        for (JsonNode d : call(qmp, "query-block")) {
            for (JsonNode b : d.path("inserted").path("dirty-bitmaps")) {
                bitmaps.add(d.path("inserted").path("node-name").asText() + "/" + b.path("name").asText());
            }
        }
        Set<String> exports = new TreeSet<>();
        for (JsonNode e : call(qmp, "query-block-exports")) exports.add(e.path("id").asText());
        Set<String> jobs = new TreeSet<>();
        for (JsonNode j : call(qmp, "query-block-jobs")) jobs.add(j.path("device").asText());
        return new QemuBlockState(nodes, bitmaps, exports, jobs);
    }

    /** Whether anything named like vmmig's additions ({@code vmmig-...}) is present. */
    public boolean hasVmmigTraces() {
        return contains(nodes) || contains(bitmaps) || contains(exports) || contains(jobs);
    }

    private static boolean contains(Set<String> names) {
        return names.stream().anyMatch(n -> n.contains("vmmig"));
    }

    private static JsonNode call(QmpClient qmp, String command) {
        return QmpClient.join(qmp.execute(command, JsonNodeFactory.instance.objectNode()));
    }
}
