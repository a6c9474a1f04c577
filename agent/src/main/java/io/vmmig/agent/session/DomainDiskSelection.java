package io.vmmig.agent.session;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.libvirt.DomainDisk;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --disks} for a libvirt domain, by target name ({@code vda,vdb}). vmmig moves every local disk it can
 * move, and libvirt migrates the domain UNSAFE (its shared-storage check does not know vmmig moves the disks):
 * a movable disk left out of the selection would reach the destination without its data. So a selection may
 * only name the domain's disks, only disks vmmig moves, and must name all of those; it selects nothing else.
 */
public final class DomainDiskSelection {
    private DomainDiskSelection() {
    }

    /** Refuses {@code selected} (null: every movable disk, nothing to check) for the disks {@code all} of {@code domain}. */
    public static void check(String domain, List<DomainDisk> all, List<String> selected) throws AgentException {
        if (selected == null) return;
        List<String> targets = all.stream().map(DomainDisk::target).toList();
        for (String s : selected) {
            DomainDisk d = all.stream().filter(x -> s.equals(x.target())).findFirst().orElse(null);
            if (d == null)
                throw new AgentException(ErrorKind.BAD_REQUEST, "--disks " + s + ": domain " + domain + " has no disk " + s + " (its disks: "
                        + String.join(", ", targets) + ")");
            if (!d.movable())
                throw new AgentException(ErrorKind.BAD_REQUEST, "--disks " + s + ": vmmig does not move " + s + " of domain " + domain + " ("
                        + d.whyNotMovable() + "); libvirt leaves it as it is");
        }
        List<String> left = new ArrayList<>();
        for (DomainDisk d : all)
            if (d.movable() && !selected.contains(d.target())) left.add(d.target() + " (" + d.source() + ")");
        if (!left.isEmpty())
            throw new AgentException(ErrorKind.ENVIRONMENT, "domain " + domain + ": --disks leaves out " + String.join(", ", left)
                    + ", a local disk the destination needs too: vmmig moves every local disk of a libvirt domain in the one migration"
                    + " (leave out --disks); the guest keeps running here");
    }
}
