package io.vmmig.nbd.protocol;

/** Error values carried in NBD replies (the protocol fixes these numbers, independent of the host's errno). */
public enum NbdErrno {
    EPERM(1), EIO(5), ENOMEM(12), EINVAL(22), ENOSPC(28), EOVERFLOW(75), ENOTSUP(95), ESHUTDOWN(108);

    public final int value;

    NbdErrno(int value) { this.value = value; }

    /** @return the error with this value; unknown non-zero values map to EINVAL as the spec advises. */
    public static NbdErrno of(int value) {
        for (NbdErrno e : values()) if (e.value == value) return e;
        return EINVAL;
    }
}
