package io.vmmig.agent.vm;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import java.util.Set;

/**
 * The destination refused a VM description (kind {@link ErrorKind#REFUSED}): the option (a field path
 * such as {@code netdevs[0].script}) and why. The source's CLI shows the message as it is.
 */
public final class RefusedDescriptionException extends AgentException {
    private static final Set<String> RUNS_A_PROGRAM = Set.of("script", "downscript", "helper", "exec", "cmd", "smb", "command");
    private static final Set<String> PASSES_FDS = Set.of("add-fd", "addFd", "fd", "fds", "vhostfd", "vhostfds", "sock_fd", "fdset");
    private static final Set<String> LOADS_CODE = Set.of("plugin", "plugins", "module", "modules");
    private static final Set<String> OPENS_A_PATH = Set.of("mem-path", "memPath", "file", "filename", "romfile", "logfile",
            "tftp", "bootfile", "dtb", "pidfile", "readconfig", "writeconfig", "incoming", "chroot", "runas");

    private final String option;

    public RefusedDescriptionException(String option, String reason) {
        super(ErrorKind.REFUSED, "the destination refused the VM description: " + option + ": " + reason);
        this.option = option;
    }

    /** The refused field, as a path into the description. */
    public String option() {
        return option;
    }

    /** Why a field that is not in the schema is refused (the dangerous ones say what they would do). */
    static String unknownField(String name) {
        String base = "not part of VM description schema " + VmDescription.SCHEMA;
        if (RUNS_A_PROGRAM.contains(name)) return base + ": it runs a program on the destination host, never taken from a peer";
        if (PASSES_FDS.contains(name)) return base + ": it passes file descriptors into QEMU, never taken from a peer";
        if (LOADS_CODE.contains(name)) return base + ": it loads code into QEMU, never taken from a peer";
        if (OPENS_A_PATH.contains(name)) return base + ": it opens a host path, never taken from a peer outside the description's checked paths";
        return base;
    }

    /** The same reasons for a device, object or machine property name outside the allow-list. */
    static String property(String name) {
        String why = unknownField(name);
        int colon = why.indexOf(": ");
        return "not an allowed property" + (colon < 0 ? "" : why.substring(colon));
    }
}
