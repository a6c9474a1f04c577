package io.vmmig.qmp;

import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Dispatches each event to every registered listener whose filter matches; with no listener it is dropped. */
final class QmpEventHub {
    private static final Logger log = LoggerFactory.getLogger(QmpEventHub.class);

    private final CopyOnWriteArrayList<QmpEventListener> listeners = new CopyOnWriteArrayList<>();
    private volatile QmpConnectionLostException endCause;

    QmpEventListener register(String name, EventFilter filter, int capacity) {
        QmpEventListener l = new QmpEventListener(name, filter, capacity, this);
        listeners.add(l);
        QmpConnectionLostException cause = endCause;
        if (cause != null) {
            l.end(cause);
        }
        return l;
    }

    void remove(QmpEventListener l) {
        listeners.remove(l);
    }

    int size() {
        return listeners.size();
    }

    void dispatch(QmpEvent event) {
        for (QmpEventListener l : listeners) {
            try {
                l.offer(event);
            } catch (RuntimeException e) {
                log.warn("event filter of listener '{}' failed on {}: {}", l.name(), event.name(), e.toString());
            }
        }
    }

    void end(QmpConnectionLostException cause) {
        endCause = cause;
        for (QmpEventListener l : listeners) {
            l.end(cause);
        }
    }
}
