package io.vmmig.agent.session;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.JsonNode;
import io.vmmig.agent.control.ErrorKind;

/**
 * Messages between a source and a destination agent on their control connection (a peer connection
 * opened with an empty migration id and token, carried in {@code CONTROL} frames as JSON). The order:
 * source PREPARE, destination PREPARED (with the migration's token) or FAILED; the source opens the
 * data connection with that token; destination READY (its QEMU listens); PROGRESS after the switchover;
 * FINISHED with the destination's report. CANCEL from the source before the switchover; FAILED either way.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = PeerMessage.Prepare.class, name = "prepare"),
        @JsonSubTypes.Type(value = PeerMessage.Prepared.class, name = "prepared"),
        @JsonSubTypes.Type(value = PeerMessage.Ready.class, name = "ready"),
        @JsonSubTypes.Type(value = PeerMessage.Progress.class, name = "progress"),
        @JsonSubTypes.Type(value = PeerMessage.Finished.class, name = "finished"),
        @JsonSubTypes.Type(value = PeerMessage.Failed.class, name = "failed"),
        @JsonSubTypes.Type(value = PeerMessage.Cancel.class, name = "cancel"),
        @JsonSubTypes.Type(value = PeerMessage.ResumeAt.class, name = "resume-at"),
        @JsonSubTypes.Type(value = PeerMessage.PrepareDomain.class, name = "prepare-domain"),
        @JsonSubTypes.Type(value = PeerMessage.PreparedDomain.class, name = "prepared-domain")})
public sealed interface PeerMessage {

    /**
     * One disk the migration moves, in the migration's disk order (which lays the disks out in the
     * transfer's address space, {@link io.vmmig.strategy.DiskLayout}).
     *
     * @param node        the disk's node at the destination (the description's)
     * @param imageName   the source image's file name (the default target name)
     * @param backingFile the top image's backing file (must exist at the destination), or null
     */
    record Disk(String node, String format, long virtualSize, long allocatedBytes, String backingFile, String imageName) {}

    /**
     * The source asks the destination to prepare a migration of {@code disks} (at least one).
     *
     * @param strategy      the strategy's CLI name
     * @param target        the requested target path of a one-disk VM's image, or null for the destination's default
     * @param description   what the VM is ({@link io.vmmig.agent.vm.VmDescription} as JSON): the destination
     *                      validates it and builds its QEMU command line from it
     * @param sourceVersion the source QEMU's version, for messages
     */
    record Prepare(String id, String strategy, int chunkSize, java.util.List<Disk> disks, String target, JsonNode description,
                   String vm, String sourceVersion) implements PeerMessage {
        public Prepare {
            // a copy that keeps a peer's null entries: PeerValues names them ("disks[0] is null")
            disks = disks == null ? java.util.List.of() : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(disks));
        }

        public java.util.List<String> diskNodes() {
            return disks.stream().map(d -> d == null ? null : d.node()).toList();
        }

        public java.util.List<String> formats() {
            return disks.stream().map(d -> d == null ? null : d.format()).toList();
        }
    }

    /**
     * The destination agreed: the images it created (in disk order) and the token for the data connection
     * (base64). {@code dedupChunk}: it keeps a fingerprint index of its images at this chunk size (which
     * divides the migration's) and answers FINGERPRINTS of pieces of that size (the source then sends them
     * before the data, if its own {@code dedup} is on); null or absent: send the data.
     */
    record Prepared(java.util.List<String> images, String token, Integer dedupChunk) implements PeerMessage {
        public Prepared(java.util.List<String> images, String token) {
            this(images, token, null);
        }
    }

    /**
     * The destination QEMU runs in {@code -incoming defer} and listens for memory on {@code memoryPort};
     * for mirror, its NBD export is at {@code mirrorPort} (TCP) or {@code mirrorSocket} (UNIX) with {@code mirrorExport}.
     * {@code qemuTls}: both listen in TLS (QEMU's {@code tls-creds-x509} with the destination agent's
     * certificate, client certificates required); false or absent: plain TCP. The source goes on only if
     * that is what it is configured for ({@code tls.qemu-streams}).
     */
    record Ready(int memoryPort, Integer mirrorPort, String mirrorSocket, String mirrorExport, Boolean qemuTls)
            implements PeerMessage {}

    /**
     * Destination progress after the switchover, with its QEMU's run state ({@code query-status}; null if not read)
     * and, for a VM with more than one disk, the bytes each disk still misses (in disk order; null: one disk).
     */
    record Progress(long pulledBytes, long pulledOnDemand, long pulledBackground, long receivedPushBytes, String qemuStatus,
                    java.util.List<Long> missingPerDisk) implements PeerMessage {
        public Progress(long pulledBytes, long pulledOnDemand, long pulledBackground, long receivedPushBytes) {
            this(pulledBytes, pulledOnDemand, pulledBackground, receivedPushBytes, null, null);
        }

        public Progress(long pulledBytes, long pulledOnDemand, long pulledBackground, long receivedPushBytes, String qemuStatus) {
            this(pulledBytes, pulledOnDemand, pulledBackground, receivedPushBytes, qemuStatus, null);
        }
    }

    /** The destination holds the whole disk and left the guest's I/O path: its report. */
    record Finished(JsonNode report) implements PeerMessage {}

    /**
     * Either side failed; the kind and the reason, and (from a destination) its QEMU's run state:
     * {@code query-status}, {@code gone}, or null when it never started one.
     */
    record Failed(ErrorKind kind, String message, String qemuStatus) implements PeerMessage {
        public Failed(ErrorKind kind, String message) {
            this(kind, message, null);
        }
    }

    /**
     * The source, after PREPARED (chunk-transfer strategies): if the pull's connection breaks, the
     * destination reconnects to the source agent's peer listener at {@code port} (on the address this
     * control connection came from) with this migration's id and {@code token} (base64, issued by the
     * source, valid until the pull ends) and sends RESUME.
     */
    record ResumeAt(int port, String token) implements PeerMessage {}

    /** The source cancels before the switchover. */
    record Cancel(String reason) implements PeerMessage {}

    /**
     * The source asks the destination to prepare the disks of a libvirt domain that libvirt itself will
     * migrate (libvirt starts the destination QEMU): for each disk the destination serves an NBD export on a
     * UNIX socket (the destination definition's disk source) and creates the final local image.
     */
    record PrepareDomain(String id, String domain, String uuid, int chunkSize, boolean persistent, java.util.List<DomainDiskPlan> disks)
            implements PeerMessage {}

    /** One disk of a {@link PrepareDomain}: target (vda), format, virtual size, the source image's file name. */
    record DomainDiskPlan(String target, String format, long virtualSize, String imageName) {}

    /**
     * The destination is ready for libvirt: the URI the source's libvirtd migrates to, and per disk the NBD
     * socket, the final image and the token of that disk's data connection (migration id {@code ID.TARGET}).
     */
    record PreparedDomain(String libvirtUri, java.util.List<DomainDiskTarget> disks) implements PeerMessage {}

    /** Where one disk of a {@link PreparedDomain} goes. */
    record DomainDiskTarget(String target, String nbdSocket, String image, String token) {}
}
