package io.vmmig.libvirt;

/** A libvirt domain cannot be migrated, or libvirt failed: {@link #reason()} says which kind, the message what and why. */
public final class DomainException extends Exception {
    /** What went wrong, for the caller's error kind. */
    public enum Reason {
        /** libvirtd cannot be reached at the URI. */
        UNREACHABLE,
        /** No such domain. */
        NOT_FOUND,
        /** The domain has a disk vmmig cannot move, is not running, has a block job or snapshot metadata. */
        NOT_MOVABLE,
        /** libvirt refused or failed an operation. */
        LIBVIRT
    }

    private final Reason reason;

    public DomainException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public DomainException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
