package io.vmmig.agent.peer;

/** Decides whether a client may join a migration, from the migration id and token of its HELLO. */
public interface MigrationAuthorizer {
    /** Called on the connection's I/O thread: must not block. */
    Authorization authorize(String migrationId, byte[] token, ClientIdentity client);
}
