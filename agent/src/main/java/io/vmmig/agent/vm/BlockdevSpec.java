package io.vmmig.agent.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One {@code -blockdev} argument of a QEMU command line, in either of its forms ({@code {"driver":..}} JSON
 * or {@code driver=qcow2,file=f0,node-name=d0} with {@code ,,} for a comma): its node name and the node
 * names it refers to as {@code file} or {@code backing}, and its {@code filename} (file nodes, for messages).
 */
record BlockdevSpec(String nodeName, List<String> children, String filename) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static BlockdevSpec parse(String arg) {
        if (arg.startsWith("{")) {
            try {
                JsonNode n = JSON.readTree(arg);
                List<String> children = new ArrayList<>();
                for (String k : List.of("file", "backing")) {
                    JsonNode c = n.get(k);
                    if (c != null && c.isTextual()) children.add(c.asText());
                }
                return new BlockdevSpec(n.path("node-name").asText(null), children, n.path("filename").asText(null));
            } catch (IOException e) {
                throw new IllegalArgumentException("unreadable -blockdev JSON: " + arg);
            }
        }
        String node = null;
        String filename = null;
        List<String> children = new ArrayList<>();
        for (String kv : splitOptions(arg)) {
            int eq = kv.indexOf('=');
            if (eq < 0) continue;
            String k = kv.substring(0, eq);
            String v = kv.substring(eq + 1);
            if (k.equals("node-name")) node = v;
            if (k.equals("filename")) filename = v;
            if (k.equals("file") || k.equals("backing")) children.add(v);
        }
        return new BlockdevSpec(node, children, filename);
    }

    /** QEMU's option syntax: comma-separated, {@code ,,} stands for a comma inside a value. */
    static List<String> splitOptions(String arg) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < arg.length(); i++) {
            char c = arg.charAt(i);
            if (c == ',') {
                if (i + 1 < arg.length() && arg.charAt(i + 1) == ',') {
                    cur.append(',');
                    i++;
                } else {
                    out.add(cur.toString());
                    cur.setLength(0);
                }
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }
}
