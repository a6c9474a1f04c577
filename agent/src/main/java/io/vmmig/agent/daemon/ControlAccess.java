package io.vmmig.agent.daemon;

import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * Who may use the control socket: root and the agent's own user always; with
 * {@code control-socket.group} (like libvirt's {@code unix_sock_group}) also the members of that group,
 * i.e. callers whose group it is or whose user is in it in the group database. The file mode (0600, or 0660
 * owned by the group) already keeps others from connecting; this check is the agent's own, on the
 * kernel's credentials of the caller, so a socket whose mode was widened does not widen who may migrate.
 */
public final class ControlAccess {
    private final Path socket;
    private final String group;
    private final LocalAccounts accounts;

    /** @param group null: root (and the agent's user) only */
    public ControlAccess(Path socket, String group, LocalAccounts accounts) {
        this.socket = socket;
        this.group = group;
        this.accounts = accounts;
    }

    /** The socket's mode: {@code rw-rw----} with a group, else {@code rw-------}. */
    public String mode() {
        return group == null ? "rw-------" : "rw-rw----";
    }

    public String group() {
        return group;
    }

    /** The caller of a connection from the names the JDK's {@code SO_PEERCRED} gives. */
    public ControlCaller caller(String userName, String groupName) {
        return new ControlCaller(accounts.uid(userName).orElse(-1), userName, accounts.gid(groupName).orElse(-1), groupName);
    }

    /** Why {@code c} may not use the socket, or null if it may. */
    public String refusal(ControlCaller c) {
        if (c.uid() == 0 || c.uid() >= 0 && c.uid() == accounts.agentUid()) return null;
        if (group == null)
            return c.describe() + " may not use the control socket " + socket + ": it is for root only (the agent's"
                    + " control-socket.group lets the members of a group in)";
        OptionalInt gid = accounts.gid(group);
        if (gid.isPresent() && (c.gid() == gid.getAsInt() || accounts.groupsOf(c.user(), c.gid()).contains(gid.getAsInt())))
            return null;
        return c.describe() + " may not use the control socket " + socket + ": it is for root and the members of group "
                + group + " (control-socket.group)";
    }
}
