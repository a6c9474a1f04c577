package io.vmmig.agent.daemon;

import io.vmmig.agent.control.MigrationPhase;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who asked for what: one line per event on the logger {@code io.vmmig.audit} (logged at INFO whatever the
 * agent's log level), {@code key=value} pairs, values in double quotes when they hold anything but
 * letters, digits and {@code . _ : / @ = + -}. Events: {@code migrate} (a caller asked this agent to
 * migrate a VM away), {@code incoming} (a source agent asked this one to receive a VM), {@code peer} (the
 * source reached the destination agent: its certificate's subject), {@code cancel}, {@code end} (the
 * outcome), {@code control-refused} (a caller the control socket does not admit). See README-agent.md.
 */
public final class Audit {
    /** The audit logger's name. */
    public static final String LOGGER = "io.vmmig.audit";
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER);
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._:/@=+-]+");

    private Audit() {
    }

    /** A caller asked this agent (the source) to migrate {@code m}'s VM to {@code m.peer()}. */
    public static void migrate(ControlCaller caller, MigrationRecord m) {
        m.caller(caller.audit());
        m.audited();
        log(fields("migrate", m).put("caller", caller.audit()).put("dest", m.peer()).put("strategy", m.strategy()).map);
    }

    /** A caller's migration request refused before it became a migration (unknown VM, bad option, ...). */
    public static void migrateRefused(ControlCaller caller, String vm, String dest, String strategy, String reason) {
        log(new Line().put("event", "migrate").put("vm", vm).put("caller", caller.audit()).put("dest", dest).put("strategy", strategy)
                .put("result", "refused").put("error", reason == null ? null : reason.replace('\n', ' ')).map);
    }

    /** The source agent reached the destination's agent, whose certificate has {@code subject} (null: insecure). */
    public static void peer(MigrationRecord m, String subject) {
        m.peerSubject(subject);
        log(fields("peer", m).put("caller", m.caller()).put("dest", m.peer()).put("peer-subject", subject(subject)).map);
    }

    /** A source agent whose certificate has {@code subject} asked this agent (the destination) to receive {@code m}. */
    public static void incoming(MigrationRecord m, String subject) {
        m.peerSubject(subject);
        m.audited();
        log(fields("incoming", m).put("from", m.peer()).put("peer-subject", subject(subject)).put("strategy", m.strategy()).map);
    }

    /** A caller asked to cancel migration {@code id}; {@code result} is {@code cancelling} or why not. */
    public static void cancel(ControlCaller caller, String id, MigrationRecord m, String result) {
        Line l = new Line().put("event", "cancel").put("migration", id);
        if (m != null) l.put("role", m.role()).put("vm", m.vm());
        log(l.put("caller", caller.audit()).put("result", result).map);
    }

    /** {@code m} ended (completed, failed or cancelled); only migrations whose start was audited. */
    static void end(MigrationRecord m, MigrationPhase outcome, String error) {
        Line l = fields("end", m).put("outcome", outcome.name().toLowerCase(java.util.Locale.ROOT));
        if (m.caller() != null) l.put("caller", m.caller());
        l.put("peer", m.peer()).put("peer-subject", subject(m.peerSubject())).put("strategy", m.strategy());
        if (error != null) l.put("error", error.replace('\n', ' '));
        log(l.map);
    }

    /** The control socket refused a caller. */
    static void controlRefused(ControlCaller caller, String why) {
        LOG.warn(line(new Line().put("event", "control-refused").put("caller", caller.audit()).put("reason", why).map));
    }

    private static String subject(String s) {
        return s == null ? "none" : s;
    }

    private static Line fields(String event, MigrationRecord m) {
        return new Line().put("event", event).put("migration", m.id()).put("role", m.role()).put("vm", m.vm());
    }

    private static void log(Map<String, String> fields) {
        LOG.info(line(fields));
    }

    /** The line of {@code fields}, in their order. */
    static String line(Map<String, String> fields) {
        StringBuilder b = new StringBuilder();
        for (var e : fields.entrySet()) {
            if (e.getValue() == null) continue;
            if (b.length() > 0) b.append(' ');
            b.append(e.getKey()).append('=').append(quoted(e.getValue()));
        }
        return b.toString();
    }

    static String quoted(String v) {
        if (!v.isEmpty() && PLAIN.matcher(v).matches()) return v;
        return '"' + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ").replace("\r", " ") + '"';
    }

    private static final class Line {
        final Map<String, String> map = new LinkedHashMap<>();

        Line put(String k, String v) {
            map.put(k, v);
            return this;
        }
    }
}
