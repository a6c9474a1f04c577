package io.vmmig.it.agent;

import io.vmmig.agent.Main;
import io.vmmig.testkit.net.JavaCommand;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A real {@code vmmig agent} process with its own configuration, killed on close. */
final class AgentProcess implements AutoCloseable {
    final String name;
    final Path config;
    final Path controlSocket;
    final Path log;
    final int port;
    private final Process process;

    private AgentProcess(String name, Path config, Path controlSocket, Path log, int port, Process process) {
        this.name = name;
        this.config = config;
        this.controlSocket = controlSocket;
        this.log = log;
        this.port = port;
        this.process = process;
    }

    static AgentProcess start(String name, Path config, Path controlSocket, int port, Path log) throws Exception {
        return start(name, List.of(), config, controlSocket, port, log);
    }

    /**
     * Starts the agent with {@code prefix} before its command line (e.g. {@code ip netns exec NS}, which
     * execs: the process is the agent's JVM); its output is appended to {@code log} (a restart adds to it).
     */
    static AgentProcess start(String name, List<String> prefix, Path config, Path controlSocket, int port, Path log) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(prefix);
        cmd.addAll(JavaCommand.of(Main.class, List.of("agent", "--config", config.toString())));
        Files.deleteIfExists(controlSocket);   // a SIGKILLed agent leaves it behind: wait for the new one below
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        AgentProcess a = new AgentProcess(name, config, controlSocket, log, port, p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            if (!p.isAlive()) throw new IllegalStateException("agent " + name + " exited with " + p.exitValue() + ":\n" + a.logTail());
            if (Files.exists(controlSocket)) {
                try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(controlSocket))) {
                    return a;
                } catch (IOException e) {
                    // not yet
                }
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("agent " + name + " did not open " + controlSocket + " in 30 s:\n" + a.logTail());
            }
            try {
                p.onExit().get(50, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // poll again
            }
        }
    }

    String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    String logTail() {
        List<String> lines = logText().lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    boolean alive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** SIGKILL, as a crash or the OOM killer would: no shutdown hook, nothing cleaned up. */
    void kill() throws InterruptedException {
        process.destroyForcibly();   // SIGKILL on Linux
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
