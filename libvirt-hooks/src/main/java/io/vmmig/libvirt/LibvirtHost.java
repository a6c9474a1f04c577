package io.vmmig.libvirt;

import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Library;
import org.libvirt.LibvirtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to a libvirtd ({@code qemu:///system} by default, the agent's {@code libvirt.uri}). The
 * libvirt event loop (needed for block job events) is started once per JVM before the first connection.
 */
public final class LibvirtHost implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LibvirtHost.class);
    private static boolean loopStarted;

    private final String uri;
    private final Connect connect;

    private LibvirtHost(String uri, Connect connect) throws LibvirtException {
        this.uri = uri;
        this.connect = connect;
    }

    /** Connects to the libvirtd at {@code uri}; a daemon that cannot be reached is a {@link DomainException.Reason#UNREACHABLE}. */
    public static LibvirtHost open(String uri) throws DomainException {
        try {
            startEventLoop();
            return new LibvirtHost(uri, new Connect(uri, false));
        } catch (LibvirtException | UnsatisfiedLinkError e) {
            throw new DomainException(DomainException.Reason.UNREACHABLE,
                    "libvirtd at " + uri + " cannot be reached: " + e.getMessage(), e);
        }
    }

    private static synchronized void startEventLoop() throws LibvirtException {
        if (loopStarted) return;
        Library.initEventLoop();
        Thread t = new Thread(() -> {
            try {
                Library.runEventLoop();
            } catch (LibvirtException e) {
                LOG.warn("libvirt event loop ended: {}", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "libvirt-events");
        t.setDaemon(true);
        t.start();
        loopStarted = true;
    }

    public String uri() {
        return uri;
    }

    /** The domain named {@code nameOrUuid} (a name, or a UUID in its usual text form). */
    public LibvirtDomain domain(String nameOrUuid) throws DomainException {
        Domain d;
        try {
            d = nameOrUuid.matches("[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
                    ? connect.domainLookupByUUIDString(nameOrUuid) : connect.domainLookupByName(nameOrUuid);
        } catch (LibvirtException e) {
            throw new DomainException(DomainException.Reason.NOT_FOUND,
                    "no libvirt domain '" + nameOrUuid + "' at " + uri + ": " + e.getMessage(), e);
        }
        return new LibvirtDomain(this, d);
    }

    /**
     * Runs {@code action} once when libvirt here reports the domain {@code uuid} started for an incoming
     * migration (lifecycle STARTED/MIGRATED: libvirt emits it at the end of its Prepare phase, once the
     * destination QEMU created its devices and waits for memory, before any memory was sent). The listener
     * goes when the returned handle is closed.
     */
    public AutoCloseable onIncomingStarted(String uuid, Runnable action) throws DomainException {
        return onLifecycle(uuid, org.libvirt.event.DomainEventType.STARTED, org.libvirt.event.StartedDetail.MIGRATED, action);
    }

    /** Runs {@code action} when libvirt here resumes the incoming domain {@code uuid} (RESUMED/MIGRATED: its Finish phase). */
    public AutoCloseable onIncomingResumed(String uuid, Runnable action) throws DomainException {
        return onLifecycle(uuid, org.libvirt.event.DomainEventType.RESUMED, org.libvirt.event.ResumedDetail.MIGRATED, action);
    }

    /**
     * Runs {@code action} when libvirt here reports the outgoing domain {@code uuid} paused for its migration
     * (SUSPENDED/MIGRATED: QEMU stopped the vCPUs before the switchover, after draining and flushing its
     * block devices, so its images hold every write the guest made here unless the migration fails and libvirt resumes it).
     */
    public AutoCloseable onPausedForMigration(String uuid, Runnable action) throws DomainException {
        return onLifecycle(uuid, org.libvirt.event.DomainEventType.SUSPENDED, org.libvirt.event.SuspendedDetail.MIGRATED, action);
    }

    private AutoCloseable onLifecycle(String uuid, org.libvirt.event.DomainEventType type, Object detail, Runnable action)
            throws DomainException {
        org.libvirt.event.LifecycleListener l = (d, ev) -> {
            try {
                if (ev.getType() == type && ev.getDetail() == detail && uuid.equalsIgnoreCase(d.getUUIDString()))
                    action.run();
            } catch (LibvirtException e) {
                // a domain that went away
            }
            return 0;
        };
        try {
            connect.addLifecycleListener(l);
        } catch (LibvirtException e) {
            throw new DomainException(DomainException.Reason.LIBVIRT, "libvirt at " + uri + ": cannot listen for lifecycle events: " + e.getMessage(), e);
        }
        return () -> {
            try {
                connect.removeLifecycleListener(l);
            } catch (LibvirtException e) {
                // the connection is closing
            }
        };
    }

    /**
     * Waits until libvirt here no longer has the domain {@code uuid} (e.g. the incoming domain of a migration the
     * source aborted: libvirt stops and removes it), at most {@code timeout}; whether it is gone.
     */
    public boolean awaitGone(String uuid, java.time.Duration timeout) throws DomainException, InterruptedException {
        java.util.concurrent.CompletableFuture<Void> stopped = new java.util.concurrent.CompletableFuture<>();
        org.libvirt.event.LifecycleListener l = (d, ev) -> {
            try {
                if ((ev.getType() == org.libvirt.event.DomainEventType.STOPPED || ev.getType() == org.libvirt.event.DomainEventType.UNDEFINED)
                        && uuid.equalsIgnoreCase(d.getUUIDString())) stopped.complete(null);
            } catch (LibvirtException e) {
                stopped.complete(null);   // gone already
            }
            return 0;
        };
        try {
            connect.addLifecycleListener(l);
        } catch (LibvirtException e) {
            throw new DomainException(DomainException.Reason.LIBVIRT, "libvirt at " + uri + ": cannot listen for lifecycle events: " + e.getMessage(), e);
        }
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (hasUuid(uuid)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                try {
                    // the event, or a second's look again: libvirt removes a transient domain just after its STOPPED event
                    stopped.get(Math.min(left, 1_000_000_000L), java.util.concurrent.TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                    // look again
                }
            }
            return true;
        } finally {
            try {
                connect.removeLifecycleListener(l);
            } catch (LibvirtException e) {
                // the connection is closing
            }
        }
    }

    private boolean hasUuid(String uuid) {
        try {
            connect.domainLookupByUUIDString(uuid);
            return true;
        } catch (LibvirtException e) {
            return false;
        }
    }

    /** Whether a domain of that name exists here (a failed lookup is "no"). */
    public boolean hasDomain(String name) {
        try {
            connect.domainLookupByName(name);
            return true;
        } catch (LibvirtException e) {
            return false;
        }
    }

    @Override
    public void close() {
        try {
            connect.close();
        } catch (LibvirtException e) {
            LOG.debug("closing the connection to {}: {}", uri, e.getMessage());
        }
    }
}
