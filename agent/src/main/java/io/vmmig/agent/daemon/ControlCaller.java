package io.vmmig.agent.daemon;

/**
 * Who is at the other end of a control connection, as the kernel says it ({@code SO_PEERCRED}: the
 * credentials of the process when it connected): never what the client claims.
 *
 * @param uid   the caller's user id (-1 if its name could not be mapped back to one)
 * @param user  its user name (the number when the system has no name for it)
 * @param gid   its (primary, effective) group id (-1 if unknown)
 * @param group that group's name
 */
public record ControlCaller(int uid, String user, int gid, String group) {
    /** {@code uid 0 (root)}, for messages. */
    public String describe() {
        return "uid " + uid + " (" + user + ")";
    }

    /** {@code uid=0(root) gid=0(root)}, as {@code id(1)} writes it: the audit log's caller. */
    public String audit() {
        return "uid=" + uid + "(" + user + ") gid=" + gid + "(" + group + ")";
    }
}
