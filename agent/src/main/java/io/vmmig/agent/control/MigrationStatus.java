package io.vmmig.agent.control;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One migration as {@code vmmig status} and {@code vmmig list} show it.
 *
 * @param role      {@code source} or {@code destination} (this agent's side)
 * @param peer      the other agent ({@code host:port} for a source, the client's address for a destination)
 * @param startedAt ISO-8601 instant
 * @param progress  the latest sample (null before the first)
 * @param error     why it failed or was cancelled (null otherwise)
 * @param waitingFor during the pull, the peer whose connection is lost and awaited ({@code source} at the
 *                  destination, which reconnects; {@code destination} at the source, which waits for it); null while connected
 * @param guest     where the guest runs and in what state, from QEMU's run state (null before the first look)
 * @param caller    who asked for it, at the source: {@code uid=0(root) gid=0(root)} (the control socket's
 *                  {@code SO_PEERCRED}); null at the destination
 * @param peerSubject the other agent's certificate subject (the destination's at the source, the source's
 *                  at the destination); null before the agents connected or when they are insecure
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record MigrationStatus(String id, String role, String vm, String peer, String strategy, MigrationPhase phase,
                              String startedAt, MigrationProgress progress, String error, String waitingFor,
                              GuestLocation guest, String caller, String peerSubject) {

    public MigrationStatus(String id, String role, String vm, String peer, String strategy, MigrationPhase phase,
                           String startedAt, MigrationProgress progress, String error, String waitingFor, GuestLocation guest) {
        this(id, role, vm, peer, strategy, phase, startedAt, progress, error, waitingFor, guest, null, null);
    }

    public MigrationStatus(String id, String role, String vm, String peer, String strategy, MigrationPhase phase,
                           String startedAt, MigrationProgress progress, String error, String waitingFor) {
        this(id, role, vm, peer, strategy, phase, startedAt, progress, error, waitingFor, null, null, null);
    }

    public MigrationStatus(String id, String role, String vm, String peer, String strategy, MigrationPhase phase,
                           String startedAt, MigrationProgress progress, String error) {
        this(id, role, vm, peer, strategy, phase, startedAt, progress, error, null, null, null, null);
    }
}
