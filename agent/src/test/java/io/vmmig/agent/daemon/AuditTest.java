package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The audit log's lines: key=value pairs, greppable, one line whatever the values hold. */
class AuditTest {
    @Test
    void plainValuesBareOthersQuoted() {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("event", "migrate");
        f.put("migration", "m-1a2b3c4d");
        f.put("caller", "uid=0(root) gid=0(root)");
        f.put("dest", "10.0.0.2:7410");
        f.put("peer-subject", "CN=host-b,O=Example Corp");
        f.put("skipped", null);
        f.put("error", "a \"quoted\" word\nand a second line");
        assertEquals("event=migrate migration=m-1a2b3c4d caller=\"uid=0(root) gid=0(root)\" dest=10.0.0.2:7410"
                + " peer-subject=\"CN=host-b,O=Example Corp\" error=\"a \\\"quoted\\\" word and a second line\"", Audit.line(f));
    }

    @Test
    void emptyIsQuoted() {
        assertEquals("\"\"", Audit.quoted(""));
        assertEquals("CN=host-a", Audit.quoted("CN=host-a"));
        assertEquals("\"a\\\\b\"", Audit.quoted("a\\b"));
    }
}
