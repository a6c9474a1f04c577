package io.vmmig.agent.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.strategy.qemu.StreamTls;

/**
 * How QEMU's streams between the hosts were carried, for the migration's report: the memory stream, and
 * the mirror's NBD stream ({@code none} for the strategies whose disk data goes over the agents' own
 * connection). JSON: {@code "qemuStreams": {"memory": "tls"|"plain", "nbd": "tls"|"plain"|"none",
 * "tlsHostname": NAME}} beside the engine's report.
 */
record QemuStreams(StreamTls tls, boolean diskOverAgents) {
    static QemuStreams of(StreamTls tls, boolean diskOverAgents) {
        return new QemuStreams(tls, diskOverAgents);
    }

    String memory() {
        return tls != null ? "tls" : "plain";
    }

    String nbd() {
        return diskOverAgents ? "none" : memory();
    }

    /** {@code report} (an object) with the {@code qemuStreams} member added. */
    JsonNode addTo(JsonNode report) {
        ObjectNode o = ((ObjectNode) report).putObject("qemuStreams").put("memory", memory()).put("nbd", nbd());
        if (tls != null) o.put("tlsHostname", tls.hostname());
        return report;
    }

    /** A line for the report's summary. */
    String summaryLine() {
        String mem = tls != null ? "TLS" : "plain TCP";
        String disk = diskOverAgents ? "disk over the agents' connection" : "mirror NBD " + mem;
        return "  QEMU streams: memory " + mem + ", " + disk
                + (tls != null ? " (tls-creds-x509, the destination's certificate checked for " + tls.hostname() + ")" : "") + "\n";
    }
}
