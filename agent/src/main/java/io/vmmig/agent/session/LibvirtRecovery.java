package io.vmmig.agent.session;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.GuestLocation;
import io.vmmig.agent.daemon.CauseChain;
import io.vmmig.agent.daemon.MigrationJournal;
import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.libvirt.DomainDisk;
import io.vmmig.libvirt.DomainException;
import io.vmmig.libvirt.DomainXml;
import io.vmmig.libvirt.ImageExport;
import io.vmmig.libvirt.LibvirtDomain;
import io.vmmig.libvirt.LibvirtHost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a restarted agent does with a libvirt domain's migration its journal shows in flight (the facts
 * {@link MigrationJournal#LIBVIRT_DOMAIN}, {@link MigrationJournal#libvirtOverlay} and the destination's
 * images). Whether the switchover happened is decided from libvirt, not from the journal's phase alone:
 * <ul>
 * <li>source, the domain still running here: libvirt's migration job (if any) is aborted, every disk still on
 *     vmmig's snapshot overlay is put back on its image (libvirt's active block commit + pivot, as a cancel
 *     does), the overlays, vmmig's leftover qemu-nbd exports and the work directory are removed: cancelled;</li>
 * <li>source, the domain gone or stopped here (libvirt moved it): failed, and nothing is removed: the
 *     overlays hold the guest's last writes, which the destination's pull may still need;</li>
 * <li>destination, libvirt has no such domain here: the images this agent created, the hook's marker and
 *     the work directory are removed: cancelled;</li>
 * <li>destination, libvirt has the domain here (running, paused, or defined): it is left exactly as it is,
 *     with its images: failed, needing the operator (the pull is not resumed: the guest's reads from the
 *     NBD export of the killed agent do not come back).</li>
 * </ul>
 */
public final class LibvirtRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(LibvirtRecovery.class);
    private static final String RESTARTED = "the agent restarted while the migration was in flight";

    private LibvirtRecovery() {}

    /** Settles {@code r} (not terminal, with a {@link MigrationJournal#LIBVIRT_DOMAIN} fact) after a restart of this agent. */
    public static void recover(MigrationRecord r, AgentConfig config) {
        try (LibvirtHost host = LibvirtHost.open(config.libvirt().uri())) {
            if (r.role().equals("source")) recoverSource(r, host, config);
            else recoverDestination(r, host);
        } catch (DomainException e) {
            // nothing is removed: without libvirt nobody can tell where the guest runs
            r.fail(ErrorKind.FAILED, RESTARTED + "; " + e.getMessage() + ", so nothing was undone (the journal entry "
                    + r.id() + " names what it left: " + r.facts() + ")", GuestLocation.of(null, null));
        } catch (RuntimeException | IOException e) {
            LOG.warn("migration {}: recovery after the restart failed", r.id(), e);
            r.fail(ErrorKind.FAILED, RESTARTED + "; recovery failed: " + CauseChain.of(e), GuestLocation.of(null, null));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r.fail(ErrorKind.FAILED, RESTARTED + "; recovery interrupted", GuestLocation.of(null, null));
        }
    }

    private static void recoverSource(MigrationRecord r, LibvirtHost host, AgentConfig config)
            throws DomainException, IOException, InterruptedException {
        String uuid = r.fact(MigrationJournal.LIBVIRT_DOMAIN);
        Map<String, String> overlays = new TreeMap<>();
        r.facts().forEach((k, v) -> {
            if (k.startsWith(MigrationJournal.LIBVIRT_OVERLAY)) overlays.put(k.substring(MigrationJournal.LIBVIRT_OVERLAY.length()), v);
        });
        LibvirtDomain dom = find(host, uuid);
        String state = dom == null ? "gone" : dom.runState();
        if (dom == null || !dom.running()) {
            r.fail(ErrorKind.FAILED, RESTARTED + " and libvirt here has domain " + r.vm() + " " + state + " (it was migrated, or stopped):"
                    + " nothing was undone" + (overlays.isEmpty() ? "" : "; the snapshot overlays " + overlays.values()
                    + " were kept, they hold the guest's last writes"), GuestLocation.of(state, null));
            return;
        }
        List<String> done = new ArrayList<>();
        if (dom.hasJob()) {
            // libvirt's migration survived its caller: stop it, libvirt resumes the guest here
            dom.abortJob();
            done.add("libvirt's migration job aborted");
        }
        String work = r.fact(MigrationJournal.WORK_DIR);
        if (work != null) {
            int n = ImageExport.stopLeftovers(Path.of(work));
            if (n > 0) done.add(n + " leftover qemu-nbd export(s) stopped");
        }
        Map<String, String> live = new TreeMap<>();
        for (DomainDisk d : DomainXml.parse(dom.liveXml()).disks()) if (d.target() != null && d.source() != null) live.put(d.target(), d.source());
        for (Map.Entry<String, String> o : overlays.entrySet()) {
            String target = o.getKey();
            Path overlay = Path.of(o.getValue());
            if (overlay.toString().equals(live.get(target))) {
                // a commit of an earlier thaw cut short by the kill: ended without pivot, then done again
                if (dom.hasBlockJob(target)) dom.cancelBlockJob(target);
                dom.thaw(target, config.timeout());
                done.add(target + " back on its image (overlay " + overlay.getFileName() + " merged)");
            }
            Files.deleteIfExists(overlay);
        }
        RestartRecovery.removeDir(work);
        r.fail(ErrorKind.CANCELLED, "cancelled by an agent restart before the switchover" + (done.isEmpty()
                ? " (no disk was frozen yet)" : ": " + String.join(", ", done)), GuestLocation.of(dom.runState(), null));
    }

    private static void recoverDestination(MigrationRecord r, LibvirtHost host) throws DomainException, IOException {
        String uuid = r.fact(MigrationJournal.LIBVIRT_DOMAIN);
        List<String> images = new ArrayList<>();
        for (int i = 0; r.fact(MigrationJournal.image(i)) != null; i++) images.add(r.fact(MigrationJournal.image(i)));
        LibvirtDomain dom = find(host, uuid);
        if (dom != null) {
            // libvirt has it here: whether it ran here or still waits, its disks are vmmig's images: keep everything
            String state = dom.runState();
            r.fail(ErrorKind.FAILED, RESTARTED + "; libvirt here has domain " + r.vm() + " (" + state + "): it was left as it is,"
                    + " with its images " + images + "; the pull was not resumed (it needs the operator)", GuestLocation.of(null, state));
            return;
        }
        for (String image : images) Files.deleteIfExists(Path.of(image));
        String incoming = r.fact(MigrationJournal.LIBVIRT_INCOMING);
        if (incoming != null) Files.deleteIfExists(Path.of(incoming));
        RestartRecovery.removeDir(r.fact(MigrationJournal.WORK_DIR));
        r.fail(ErrorKind.CANCELLED, "cancelled by an agent restart before the switchover: libvirt here has no domain " + r.vm()
                + "; the image(s) " + images + " and the agent's state were removed", GuestLocation.neverArrived("not started"));
    }

    private static LibvirtDomain find(LibvirtHost host, String uuid) throws DomainException {
        try {
            return host.domain(uuid);
        } catch (DomainException e) {
            if (e.reason() == DomainException.Reason.NOT_FOUND) return null;
            throw e;
        }
    }
}
