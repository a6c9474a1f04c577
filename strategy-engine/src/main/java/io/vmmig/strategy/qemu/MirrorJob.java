package io.vmmig.strategy.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpEvent;
import io.vmmig.qmp.QmpEventListener;
import io.vmmig.qmp.QmpTimeoutException;
import io.vmmig.qmp.command.QmpCommands.BlockJobCancel;
import io.vmmig.qmp.command.QmpCommands.BlockdevMirror;
import io.vmmig.qmp.command.QmpCommands.JobDismiss;
import io.vmmig.qmp.command.QmpCommands.QueryBlockJobs;
import io.vmmig.qmp.command.QmpResults.BlockJobInfo;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code blockdev-mirror} job in the source QEMU, followed through its events from creation to
 * its end. It runs with {@code auto-dismiss: false} (as libvirt does) so a failed job stays in
 * {@code concluded} with QEMU's error until {@link #dismiss}. Not thread-safe: one thread at a time
 * consumes its events.
 */
final class MirrorJob implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MirrorJob.class);
    private static final Duration POLL = Duration.ofMillis(100);

    private final QmpClient qmp;
    private final String id;
    private final QmpEventListener events;
    private volatile String status = "created";
    private volatile long lastOffset;
    private volatile long lastLength;
    private String endError;
    private String endEvent;
    private int ioErrors;

    private MirrorJob(QmpClient qmp, String id, QmpEventListener events) {
        this.qmp = qmp;
        this.id = id;
        this.events = events;
    }

    /** Listens to the job's events, then issues {@code spec} (whose job id names the job). */
    static MirrorJob start(QmpClient qmp, BlockdevMirror spec, Duration timeout) {
        String id = spec.jobId();
        Predicate<QmpEvent> mine = EventFilter.named("BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED",
                        "BLOCK_JOB_ERROR").andData("device", id)
                .or(EventFilter.jobStatus(id));
        QmpEventListener events = qmp.listen("mirror-" + id, mine::test);
        try {
            qmp.call(spec, timeout);
        } catch (RuntimeException e) {
            events.close();
            throw e;
        }
        return new MirrorJob(qmp, id, events);
    }

    String id() {
        return id;
    }

    /** The last status QEMU reported in a JOB_STATUS_CHANGE event. */
    String status() {
        return status;
    }

    /**
     * Waits for {@code BLOCK_JOB_READY}: source and target are in sync and stay so. Fails fast with
     * QEMU's error if the job ends first, and returns early (false) once {@code stop} says so.
     */
    boolean awaitReady(Duration timeout, BooleanSupplier stop) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!stop.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("mirror job " + id + " not ready within " + timeout + " (copied "
                        + progressText() + ")");
            }
            Optional<QmpEvent> e = next(POLL);
            if (e.isEmpty()) continue;
            QmpEvent ev = e.get();
            if (ev.name().equals("BLOCK_JOB_READY") || "ready".equals(status)) return true;
            if (ended()) {
                throw new IllegalStateException("mirror job " + id + " ended before it was ready: " + endText());
            }
        }
        return false;
    }

    /**
     * Ends a READY job without pivot ({@code block-job-cancel} without force): QEMU copies what is
     * still dirty, flushes the target and ends the job, leaving the target a consistent copy of the
     * source as of now. QEMU 7.2 reports {@code BLOCK_JOB_COMPLETED} for this; a
     * {@code BLOCK_JOB_CANCELLED} is accepted only with the whole length copied. Returns the bytes
     * the job copied.
     */
    long completeWithoutPivot(Duration timeout) {
        while (next(Duration.ZERO).isPresent()) {
            // catch up with what happened since READY
        }
        if (ended()) throw new IllegalStateException("mirror job " + id + " ended before the cutover: " + endText());
        if (!"ready".equals(status)) {
            throw new IllegalStateException("mirror job " + id + " is " + status + ", not ready: the target is not in sync");
        }
        qmp.call(new BlockJobCancel(id, false), timeout);
        awaitEnd(timeout);
        if (endError != null) {
            throw new IllegalStateException("mirror job " + id + " failed while completing: " + endText());
        }
        if ("BLOCK_JOB_CANCELLED".equals(endEvent) && lastOffset != lastLength) {
            throw new IllegalStateException("mirror job " + id + " was cancelled with " + lastOffset + " of "
                    + lastLength + " bytes copied: the target is not consistent");
        }
        LOG.info("mirror job {} ended with {} after copying {} of {} bytes", id, endEvent, lastOffset, lastLength);
        dismiss(timeout);
        return lastOffset;
    }

    /** Cancels with force whatever state the job is in (the target is abandoned) and removes it. */
    void forceCancel(Duration timeout) {
        if (info().isEmpty()) return;
        if (!ended()) {
            try {
                qmp.call(new BlockJobCancel(id, true), timeout);
            } catch (RuntimeException e) {
                LOG.warn("force-cancelling mirror job {}: {}", id, e.toString());
            }
        }
        awaitEnd(timeout);
        dismiss(timeout);
    }

    /**
     * Waits until the job is {@code concluded} (it runs with auto-dismiss off, so it always gets
     * there, after its BLOCK_JOB_COMPLETED or BLOCK_JOB_CANCELLED event).
     */
    private void awaitEnd(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!"concluded".equals(status) && !"null".equals(status)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("mirror job " + id + " did not end within " + timeout + " (status "
                        + status + ")");
            }
            next(POLL);
        }
    }

    /** {@code job-dismiss} of the concluded job, if QEMU still lists it. */
    void dismiss(Duration timeout) {
        Optional<BlockJobInfo> info = info();
        if (info.isPresent() && "concluded".equals(info.get().status())) {
            qmp.call(new JobDismiss(id), timeout);
        } else if (info.isPresent()) {
            throw new IllegalStateException("mirror job " + id + " is still " + info.get().status());
        }
    }

    /** The job as query-block-jobs lists it, if it does. */
    Optional<BlockJobInfo> info() {
        return qmp.call(new QueryBlockJobs()).stream().filter(j -> id.equals(j.device())).findFirst();
    }

    /** Bytes copied so far (query-block-jobs), or the last figure seen if the job is gone. */
    long copiedBytes() {
        info().ifPresent(j -> {
            lastOffset = j.offset();
            lastLength = j.len();
        });
        return lastOffset;
    }

    private boolean ended() {
        return endEvent != null || "concluded".equals(status) || "null".equals(status);
    }

    private Optional<QmpEvent> next(Duration wait) {
        QmpEvent e;
        try {
            e = events.next(wait);
        } catch (QmpTimeoutException t) {
            return Optional.empty();
        }
        switch (e.name()) {
            case "JOB_STATUS_CHANGE" -> status = e.dataText("status");
            case "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED" -> {
                endEvent = e.name();
                endError = e.dataText("error");
                offsets(e);
            }
            case "BLOCK_JOB_READY" -> offsets(e);
            case "BLOCK_JOB_ERROR" -> {
                if (++ioErrors == 1) {
                    LOG.warn("mirror job {}: I/O error on {} (action {})", id, e.dataText("operation"), e.dataText("action"));
                }
            }
            default -> { }
        }
        LOG.debug("mirror job {}: {} {}", id, e.name(), e.data());
        return Optional.of(e);
    }

    private void offsets(QmpEvent e) {
        if (e.data().has("offset")) lastOffset = e.data().get("offset").asLong();
        if (e.data().has("len")) lastLength = e.data().get("len").asLong();
    }

    private String endText() {
        String error = endError;
        if (error == null) error = queryJobsError();
        return (endEvent == null ? "status " + status : endEvent) + (error == null ? "" : ": " + error)
                + (ioErrors == 0 ? "" : " (" + ioErrors + " I/O error events)");
    }

    private String queryJobsError() {
        try {
            for (JsonNode j : QmpClient.join(qmp.execute("query-jobs", null))) {
                if (id.equals(j.path("id").asText()) && j.has("error")) return j.get("error").asText();
            }
        } catch (RuntimeException e) {
            LOG.debug("query-jobs: {}", e.toString());
        }
        return null;
    }

    private String progressText() {
        return lastOffset + " of " + lastLength + " bytes";
    }

    @Override
    public void close() {
        events.close();
    }
}
