package io.vmmig.libvirt;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.libvirt.Domain;
import org.libvirt.DomainBlockJobInfo;
import org.libvirt.LibvirtException;
import org.libvirt.TypedParameter;
import org.libvirt.TypedStringParameter;
import org.libvirt.event.BlockJobStatus;

/** A domain of one {@link LibvirtHost}: what vmmig reads of it and the libvirt operations a migration uses. */
public final class LibvirtDomain {
    private final LibvirtHost host;
    private final Domain domain;
    private final String name;
    private final String uuid;

    LibvirtDomain(LibvirtHost host, Domain domain) throws DomainException {
        this.host = host;
        this.domain = domain;
        try {
            this.name = domain.getName();
            this.uuid = domain.getUUIDString();
        } catch (LibvirtException e) {
            throw libvirt("reading the domain's name", e);
        }
    }

    public String name() {
        return name;
    }

    public String uuid() {
        return uuid;
    }

    /** The live definition ({@code virsh dumpxml}). */
    public String liveXml() throws DomainException {
        return xml(0, "reading the live definition");
    }

    /** The live definition for a migration ({@code VIR_DOMAIN_XML_MIGRATABLE}), the base of the destination XML. */
    public String migratableXml() throws DomainException {
        return xml(Domain.XMLFlags.MIGRATABLE | Domain.XMLFlags.SECURE, "reading the migratable definition");
    }

    /** The persistent definition ({@code virsh dumpxml --inactive}). */
    public String inactiveXml() throws DomainException {
        return xml(Domain.XMLFlags.INACTIVE | Domain.XMLFlags.SECURE | Domain.XMLFlags.MIGRATABLE, "reading the persistent definition");
    }

    private String xml(int flags, String what) throws DomainException {
        try {
            return domain.getXMLDesc(flags);
        } catch (LibvirtException e) {
            throw libvirt(what, e);
        }
    }

    /**
     * The domain's state as libvirt has it from its QEMU, in QEMU's run-state words: {@code running},
     * {@code paused}, {@code shutoff}, or {@code gone} when libvirt no longer knows the domain.
     */
    public String runState() {
        try {
            return switch (domain.getInfo().state) {
                case VIR_DOMAIN_RUNNING -> "running";
                case VIR_DOMAIN_PAUSED, VIR_DOMAIN_PMSUSPENDED -> "paused";
                case VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_CRASHED -> "shutoff";
                default -> "unknown";
            };
        } catch (LibvirtException e) {
            return "gone";
        }
    }

    public boolean running() throws DomainException {
        try {
            return domain.isActive() == 1;
        } catch (LibvirtException e) {
            throw libvirt("asking whether it runs", e);
        }
    }

    public boolean persistent() throws DomainException {
        try {
            return domain.isPersistent() == 1;
        } catch (LibvirtException e) {
            throw libvirt("asking whether it is persistent", e);
        }
    }

    /**
     * What stops a vmmig migration of the disks {@code moving}: the domain not running, snapshot metadata
     * (libvirt refuses to migrate a domain with snapshots), a block job on any disk (libvirt refuses that too).
     */
    public void checkMigratable(List<DomainDisk> moving) throws DomainException {
        if (!running())
            throw new DomainException(DomainException.Reason.NOT_MOVABLE, "domain " + name + " is not running (vmmig migrates running domains)");
        int snapshots;
        try {
            snapshots = domain.snapshotNum();
        } catch (LibvirtException e) {
            throw libvirt("counting its snapshots", e);
        }
        if (snapshots > 0)
            throw new DomainException(DomainException.Reason.NOT_MOVABLE, "domain " + name + " has " + snapshots
                    + " snapshot(s) in libvirt's metadata: libvirt refuses to migrate it (virsh snapshot-list " + name
                    + "; delete them or their metadata with snapshot-delete --metadata)");
        List<String> jobs = new ArrayList<>();
        for (DomainDisk d : moving) {
            try {
                DomainBlockJobInfo info = domain.getBlockJobInfo(d.target(), 0);
                if (info != null && (info.type != 0 || info.end != 0)) jobs.add(d.target() + " (" + info.cur + "/" + info.end + ")");
            } catch (LibvirtException e) {
                throw libvirt("reading the block job of " + d.target(), e);
            }
        }
        if (!jobs.isEmpty())
            throw new DomainException(DomainException.Reason.NOT_MOVABLE, "domain " + name + " has an active block job on "
                    + String.join(", ", jobs) + ": libvirt refuses to migrate it until the job ends (virsh blockjob " + name + " DISK)");
    }

    /**
     * An external disk-only snapshot of {@code overlays} (target to new overlay file, qcow2) without libvirt
     * metadata, all disks at once: each disk's image is frozen under an empty overlay that takes the guest's
     * writes from now on. Disks not named get {@code snapshot='no'}.
     */
    public void freeze(Map<String, Path> overlays, List<DomainDisk> all, String label) throws DomainException {
        StringBuilder x = new StringBuilder("<domainsnapshot><name>").append(label).append("</name><disks>");
        for (DomainDisk d : all) {
            Path o = overlays.get(d.target());
            if (d.target() == null) continue;
            if (o == null) x.append("<disk name='").append(d.target()).append("' snapshot='no'/>");
            else x.append("<disk name='").append(d.target()).append("' snapshot='external'><driver type='qcow2'/><source file='")
                    .append(o).append("'/></disk>");
        }
        x.append("</disks></domainsnapshot>");
        try {
            domain.snapshotCreateXML(x.toString(), Domain.SnapshotCreateFlags.DISK_ONLY | Domain.SnapshotCreateFlags.NO_METADATA
                    | Domain.SnapshotCreateFlags.ATOMIC);
        } catch (LibvirtException e) {
            throw libvirt("creating the external snapshot that freezes " + overlays.keySet(), e);
        }
    }

    /**
     * Undoes {@link #freeze} for {@code target}: an active block commit of the overlay into its backing file
     * (libvirt's own job), READY, then pivot: the disk is back on its image, in the live and persistent definitions.
     */
    public void thaw(String target, Duration timeout) throws DomainException, InterruptedException {
        try (BlockJobEvents ev = new BlockJobEvents(domain, target)) {
            domain.blockCommit(target, null, null, 0, Domain.BlockCommitFlags.ACTIVE | Domain.BlockCommitFlags.SHALLOW);
            ev.await(BlockJobStatus.READY, "committing the overlay of " + target + " back into its image", timeout);
            domain.blockJobAbort(target, Domain.BlockJobAbortFlags.PIVOT);
        } catch (LibvirtException e) {
            throw libvirt("committing the overlay of " + target + " back into its image", e);
        }
    }

    /**
     * Moves {@code target} onto the local file {@code path} (already created, same size) with libvirt's own
     * block copy ({@code REUSE_EXT|TRANSIENT_JOB}) and pivot, so libvirt labels the file and its live
     * definition names it.
     */
    public void pivotTo(String target, String path, String format, Duration timeout) throws DomainException, InterruptedException {
        String xml = "<disk type='file'><driver type='" + format + "'/><source file='" + path + "'/></disk>";
        try (BlockJobEvents ev = new BlockJobEvents(domain, target)) {
            // libvirt-java 0.5.4 fails on an empty parameter array (index 0 out of bounds): bandwidth 0 is "no limit"
            TypedParameter[] params = {new org.libvirt.TypedUlongParameter(Domain.BlockCopyParameters.BANDWIDTH, 0)};
            domain.blockCopy(target, xml, params, Domain.BlockCopyFlags.REUSE_EXT | Domain.BlockCopyFlags.TRANSIENT_JOB);
            ev.await(BlockJobStatus.READY, "copying " + target + " onto " + path, timeout);
            domain.blockJobAbort(target, Domain.BlockJobAbortFlags.PIVOT);
        } catch (LibvirtException e) {
            throw libvirt("copying " + target + " onto its local file " + path, e);
        }
    }

    /**
     * libvirt's live migration to {@code destUri} (peer to peer, persistent there, undefined here, UNSAFE:
     * libvirt's shared-storage check does not know vmmig moves the disks) with the destination and
     * persistent definitions given. Returns once libvirt's Confirm phase ended: the source QEMU is gone.
     */
    public void migrate(String destUri, String destXml, String persistXml, boolean persistent) throws DomainException {
        int flags = Domain.MigrateFlags.LIVE | Domain.MigrateFlags.PEER2PEER | Domain.MigrateFlags.UNSAFE;
        if (persistent) flags |= Domain.MigrateFlags.PERSIST_DEST | Domain.MigrateFlags.UNDEFINE_SOURCE;
        List<TypedParameter> params = new ArrayList<>();
        params.add(new TypedStringParameter(Domain.DomainMigrateParameters.VIR_MIGRATE_PARAM_DEST_XML, destXml));
        if (persistent) params.add(new TypedStringParameter(Domain.DomainMigrateParameters.VIR_MIGRATE_PARAM_PERSIST_XML, persistXml));
        try {
            domain.migrateToURI(destUri, params.toArray(TypedParameter[]::new), flags);
        } catch (LibvirtException e) {
            throw libvirt("migrating to " + destUri, e);
        }
    }

    /** The memory figures of libvirt's job on this domain (its migration): bytes sent, left and in all. */
    public record MemoryJob(long processed, long remaining, long total) {}

    /** libvirt's job figures ({@code virsh domjobinfo}), or null when no job runs or libvirt cannot say. */
    public MemoryJob memoryJob() {
        try {
            org.libvirt.DomainJobInfo j = domain.getJobInfo();
            if (j == null || j.getType() == 0) return null;   // VIR_DOMAIN_JOB_NONE
            return new MemoryJob(j.getMemProcessed(), j.getMemRemaining(), j.getMemTotal());
        } catch (LibvirtException e) {
            return null;
        }
    }

    /** Whether libvirt runs a job on this domain (a migration, a save, ...): {@code virsh domjobinfo} says other than None. */
    public boolean hasJob() {
        try {
            return domain.getJobInfo().getType() != 0;   // VIR_DOMAIN_JOB_NONE
        } catch (LibvirtException e) {
            return false;
        }
    }

    /** Whether a block job (commit, copy) runs on {@code target}. */
    public boolean hasBlockJob(String target) throws DomainException {
        try {
            DomainBlockJobInfo info = domain.getBlockJobInfo(target, 0);
            return info != null && (info.type != 0 || info.end != 0);
        } catch (LibvirtException e) {
            throw libvirt("reading the block job of " + target, e);
        }
    }

    /** Ends the block job on {@code target} without a pivot: the disk stays on the image it runs on. */
    public void cancelBlockJob(String target) throws DomainException {
        try {
            domain.blockJobAbort(target, 0);
        } catch (LibvirtException e) {
            throw libvirt("cancelling the block job of " + target, e);
        }
    }

    /** Aborts a migration libvirt runs for this domain (the guest stays here). */
    public void abortJob() {
        try {
            domain.abortJob();
        } catch (LibvirtException e) {
            // no job (any more)
        }
    }

    private DomainException libvirt(String what, LibvirtException e) {
        return new DomainException(DomainException.Reason.LIBVIRT, "libvirt, domain " + name + ": " + what + ": " + e.getMessage(), e);
    }
}
