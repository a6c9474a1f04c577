package io.vmmig.libvirt;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.event.BlockJobListener;
import org.libvirt.event.BlockJobStatus;

/**
 * libvirt's block job events (VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2: the disk's target name) for one disk of one
 * domain, as a future: open it before starting the job, then wait for READY (a copy or active commit that
 * caught up). The listener is removed on {@link #close}.
 */
final class BlockJobEvents implements AutoCloseable {
    private final Domain domain;
    private final CompletableFuture<BlockJobStatus> next = new CompletableFuture<>();
    private final BlockJobListener listener;

    BlockJobEvents(Domain domain, String disk) throws LibvirtException {
        this.domain = domain;
        this.listener = (d, dsk, type, status) -> {
            if (disk.equals(dsk)) next.complete(status);
        };
        domain.addBlockJobListener(listener);
    }

    /** Waits for the job to report {@code wanted}; FAILED or CANCELED (or nothing within the timeout) is an error naming the job. */
    void await(BlockJobStatus wanted, String what, Duration timeout) throws DomainException, InterruptedException {
        BlockJobStatus s;
        try {
            s = next.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new DomainException(DomainException.Reason.LIBVIRT, what + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new DomainException(DomainException.Reason.LIBVIRT, what + ": no " + wanted + " event within " + timeout);
        }
        if (s != wanted) throw new DomainException(DomainException.Reason.LIBVIRT, what + ": the block job ended " + s);
    }

    @Override
    public void close() {
        try {
            domain.removeBlockJobListener(listener);
        } catch (LibvirtException e) {
            // the domain went away
        }
    }
}
