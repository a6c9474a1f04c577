package io.vmmig.nbd.backend;

/**
 * What a {@link BlockBackend} can do beyond READ; the server derives its NBD transmission flags from it.
 *
 * @param flush        FLUSH makes completed writes durable
 * @param fua          writes may be forced to stable storage individually
 * @param trim         TRIM may discard ranges
 * @param writeZeroes  WRITE_ZEROES is implemented efficiently (otherwise the server still accepts it)
 * @param fastZero     WRITE_ZEROES with fastZero set either succeeds fast or fails fast with ENOTSUP
 * @param blockStatus  allocation status is known (otherwise everything is reported as data)
 * @param multiConn    several connections see a consistent view (flush on one covers writes on all)
 */
public record BackendCapabilities(boolean flush, boolean fua, boolean trim, boolean writeZeroes,
                                  boolean fastZero, boolean blockStatus, boolean multiConn) {
    /** Capabilities of a plain read/write backend that knows nothing about allocation. */
    public static final BackendCapabilities MINIMAL =
            new BackendCapabilities(true, true, false, false, false, false, false);
}
