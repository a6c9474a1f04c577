package io.vmmig.agent.daemon;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * An error and its causes on one line, for the log and the operator: {@code message: cause: its cause},
 * each message once (a wrapper that repeats its cause's message adds nothing), a class name where a
 * throwable has no message.
 */
public final class CauseChain {
    private CauseChain() {
    }

    public static String of(Throwable e) {
        List<String> parts = new ArrayList<>();
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        String joined = "";
        for (Throwable t = e; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
            String m = t.getMessage();
            String part = m == null || m.isBlank() ? t.getClass().getSimpleName() : m.strip();
            if (!joined.contains(part)) {
                parts.add(part);
                joined = String.join(": ", parts);
            }
        }
        return joined.replace('\n', ' ');
    }
}
