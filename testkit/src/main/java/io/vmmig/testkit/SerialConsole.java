package io.vmmig.testkit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A guest serial port, lossless from the first byte: the harness listens on a UNIX socket before QEMU
 * starts and QEMU connects to it as a client ({@code -chardev socket,id=ser0,path=...}). Every line is
 * kept in memory with host timestamps ({@link ConsoleLine}) and appended to {@code console.log}.
 */
public final class SerialConsole implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SerialConsole.class);
    private static final int TAIL_LINES = 30;

    private final String source;
    private final Path socketPath;
    private final ServerSocketChannel server;
    private final BufferedWriter log;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final List<ConsoleLine> lines = new ArrayList<>();
    private final Thread reader;
    private final boolean ownsServer;
    private SocketChannel channel;     // guarded by lock
    private boolean ended;             // guarded by lock: QEMU closed its end or we were closed

    private SerialConsole(String source, Path socketPath, ServerSocketChannel server, BufferedWriter log, boolean ownsServer) {
        this.source = source;
        this.ownsServer = ownsServer;
        this.socketPath = socketPath;
        this.server = server;
        this.log = log;
        this.reader = new Thread(this::run, "serial-" + source);
        this.reader.setDaemon(true);
    }

    /**
     * Listens on {@code socketPath} (QEMU connects later) and logs lines to {@code logFile}; public for a QEMU
     * this harness does not start (a libvirt domain's {@code <serial type='unix'><source mode='connect'>}).
     */
    public static SerialConsole listen(String source, Path socketPath, Path logFile) {
        try {
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socketPath));
            BufferedWriter log = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            SerialConsole console = new SerialConsole(source, socketPath, server, log, true);
            console.reader.start();
            return console;
        } catch (IOException e) {
            throw new TestKitException("cannot listen for the serial console on " + socketPath + ": " + e.getMessage(), e);
        }
    }

    /**
     * The console of the next QEMU that connects to the same socket: a destination QEMU started from the
     * source's command line (as a migration agent does) connects here, and this follows the guest there.
     * Its lines go to {@code logFile}. The socket stays this console's: closing this one closes it.
     */
    public SerialConsole successor(String successorSource, Path logFile) {
        try {
            BufferedWriter successorLog = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            SerialConsole next = new SerialConsole(successorSource, socketPath, server, successorLog, false);
            next.reader.start();
            return next;
        } catch (IOException e) {
            throw new TestKitException("cannot open " + logFile + " for the console of " + successorSource + ": " + e.getMessage(), e);
        }
    }

    /** The console's name (its QEMU process name). */
    public String source() {
        return source;
    }

    /** The UNIX socket QEMU connects to. */
    public Path socketPath() {
        return socketPath;
    }

    private void run() {
        ConsoleLineDecoder decoder = new ConsoleLineDecoder();
        try {
            SocketChannel ch = server.accept();
            lock.lock();
            try {
                channel = ch;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (ch.read(buf) >= 0) {
                long nanos = System.nanoTime();
                Instant wall = Instant.now();
                store(decoder.feed(buf.array(), 0, buf.position()), nanos, wall);
                buf.clear();
            }
        } catch (IOException e) {
            LOG.debug("serial console {} ended: {}", source, e.toString());
        } finally {
            store(decoder.finish(), System.nanoTime(), Instant.now());
            lock.lock();
            try {
                ended = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private void store(List<String> texts, long nanos, Instant wall) {
        if (texts.isEmpty()) {
            return;
        }
        lock.lock();
        try {
            for (String text : texts) {
                ConsoleLine line = new ConsoleLine(source, lines.size(), nanos, wall, text);
                lines.add(line);
                try {
                    log.write(line.logForm());
                    log.newLine();
                } catch (IOException e) {
                    LOG.debug("cannot append to console.log of {}: {}", source, e.toString());
                }
            }
            try {
                log.flush();
            } catch (IOException e) {
                LOG.debug("cannot flush console.log of {}: {}", source, e.toString());
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits until QEMU has connected; false on timeout or if the console ended first. */
    public boolean awaitConnected(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (channel == null && !ended) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(left);
            }
            return channel != null;
        } finally {
            lock.unlock();
        }
    }

    /** The first line (from the start of the console) matching {@code pattern} (found, not fully matched). */
    public ConsoleLine awaitLine(Pattern pattern, Duration timeout) {
        return awaitLine(pattern, timeout, 0);
    }

    /**
     * The first line at index {@code fromIndex} or later that matches {@code pattern} ({@link java.util.regex.Matcher#find()}).
     * Use {@code fromIndex = lineCount()} taken before an action to see only what follows it.
     *
     * @throws TestKitException on timeout, or when QEMU closed the console without such a line; the message
     *                          includes the console's tail
     */
    public ConsoleLine awaitLine(Pattern pattern, Duration timeout, int fromIndex) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int next = fromIndex;
        lock.lock();
        try {
            while (true) {
                for (; next < lines.size(); next++) {
                    if (pattern.matcher(lines.get(next).text()).find()) {
                        return lines.get(next);
                    }
                }
                if (ended) {
                    throw new TestKitException("serial console " + source + " closed (QEMU exited?) before a line matching /"
                            + pattern + "/; last lines:\n" + tailText(TAIL_LINES));
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TestKitException("no line matching /" + pattern + "/ on serial console " + source + " within "
                            + timeout + "; last lines:\n" + tailText(TAIL_LINES));
                }
                changed.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TestKitException("interrupted while waiting for /" + pattern + "/ on " + source, e);
        } finally {
            lock.unlock();
        }
    }

    /** A snapshot of all lines so far. */
    public List<ConsoleLine> lines() {
        lock.lock();
        try {
            return List.copyOf(lines);
        } finally {
            lock.unlock();
        }
    }

    /** How many lines arrived so far (the index the next line will get). */
    public int lineCount() {
        lock.lock();
        try {
            return lines.size();
        } finally {
            lock.unlock();
        }
    }

    /** The last {@code n} lines, one per row, for error messages. */
    public String tailText(int n) {
        List<ConsoleLine> all = lines();
        return all.subList(Math.max(0, all.size() - n), all.size()).stream()
                .map(ConsoleLine::logForm).collect(Collectors.joining("\n"));
    }

    /** Sends one line of input to the guest ({@code \n} appended when missing); waits up to 10 s for QEMU to connect. */
    public void send(String line) {
        String text = line.endsWith("\n") ? line : line + "\n";
        try {
            if (!awaitConnected(Duration.ofSeconds(10))) {
                throw new TestKitException("serial console " + source + " is not connected; cannot send '" + line.strip() + "'");
            }
            SocketChannel ch;
            lock.lock();
            try {
                ch = channel;
            } finally {
                lock.unlock();
            }
            ByteBuffer buf = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            synchronized (this) {
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
        } catch (IOException e) {
            throw new TestKitException("cannot send '" + line.strip() + "' to serial console " + source + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TestKitException("interrupted while sending to " + source, e);
        }
    }

    /** Stops reading and closes the socket and the log; lines stay available. Idempotent. */
    @Override
    public void close() {
        SocketChannel ch;
        lock.lock();
        try {
            ch = channel;
        } finally {
            lock.unlock();
        }
        if (ownsServer) closeQuietly(server);
        closeQuietly(ch);
        try {
            // a successor still waiting in accept() is released when the owner closes the socket
            if (ownsServer || ch != null) reader.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lock.lock();
        try {
            ended = true;
            changed.signalAll();
            closeQuietly(log);
        } finally {
            lock.unlock();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing on the way out
            }
        }
    }
}
