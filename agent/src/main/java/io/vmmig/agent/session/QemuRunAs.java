package io.vmmig.agent.session;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;

/**
 * With {@code qemu.runas}, the destination QEMU opens files after it dropped to that user: the image it
 * reopens at the pivot and the sockets it binds in the migration's directory. Both are handed to the
 * user before QEMU starts (the agent created them as root; it keeps access as root).
 */
final class QemuRunAs {
    private QemuRunAs() {
    }

    static void handOver(String user, Path image, Path workDir) throws AgentException {
        try {
            UserPrincipalLookupService lookup = image.getFileSystem().getUserPrincipalLookupService();
            UserPrincipal owner = lookup.lookupPrincipalByName(user);
            GroupPrincipal group = null;
            try {
                group = lookup.lookupPrincipalByGroupName(user);
            } catch (IOException e) {
                // no group of the user's name: the owner is enough
            }
            for (Path p : new Path[] {image, workDir}) {
                PosixFileAttributeView v = Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
                v.setOwner(owner);
                if (group != null) v.setGroup(group);
            }
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "qemu.runas = " + user + ": cannot hand " + image + " and " + workDir
                    + " to that user: " + e.getMessage(), e);
        }
    }
}
