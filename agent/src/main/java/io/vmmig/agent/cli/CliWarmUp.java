package io.vmmig.agent.cli;

import io.vmmig.agent.Main;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.agent.control.MigrationStatus;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code vmmig cli-warm-up} (hidden): runs the client commands' code paths ({@code migrate} with and without
 * {@code --json}, {@code status}, {@code list}, {@code cancel}, a refused request) against an in-process
 * stand-in for the agent on a temporary UNIX socket, output discarded. The launchers run it once under
 * {@code -XX:ArchiveClassesAtExit} to build the class-data-sharing archive the CLI starts with; it needs no
 * agent, no root and no network.
 */
@Command(name = "cli-warm-up", hidden = true, description = "Exercise the client commands offline (for the CDS archive).")
public final class CliWarmUp implements Callable<Integer> {
    private static final String ID = "m-0";

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("vmmig-warm-up");
        Path socket = dir.resolve("control.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread agent = new Thread(() -> serve(server), "vmmig-warm-up-agent");
            agent.setDaemon(true);
            agent.start();
            String s = socket.toString();
            List<List<String>> commands = List.of(
                    List.of("migrate", "/run/vm1/qmp.sock", "hostb", "--socket", s, "--strategy", "hybrid", "--bandwidth", "100Mbit",
                            "--memory-bandwidth", "unlimited", "--downtime-limit", "300", "--auto-converge", "--chunk-size", "256K",
                            "--threshold", "2"),
                    List.of("migrate", "vm1", "[::1]:7410", "--socket", s, "--json"),
                    List.of("status", ID, "--socket", s),
                    List.of("status", ID, "--socket", s, "--json"),
                    List.of("list", "--socket", s),
                    List.of("cancel", ID, "--socket", s),
                    List.of("migrate", "vm1", "hostb", "--socket", s, "--chunk-size", "100K"));
            int ran = 0;
            for (List<String> args : commands) {
                CliContext quiet = new CliContext(OutputStream.nullOutputStream(), new PrintStream(OutputStream.nullOutputStream(),
                        true, StandardCharsets.UTF_8), false, name -> null, new CtrlC());
                Main.commandLine(new ContextFactory(quiet)).setErr(new java.io.PrintWriter(OutputStream.nullOutputStream()))
                        .execute(args.toArray(String[]::new));
                ran++;
            }
            System.out.println("vmmig cli-warm-up: " + ran + " client commands run");
            return 0;
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    private static void serve(ServerSocketChannel server) {
        while (true) {
            try (SocketChannel c = server.accept()) {
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
                String line = in.readLine();
                if (line == null) continue;
                for (ControlEvent e : answer(ControlCodec.decodeRequest(line))) {
                    ByteBuffer b = ByteBuffer.wrap((ControlCodec.encode(e) + "\n").getBytes(StandardCharsets.UTF_8));
                    while (b.hasRemaining()) c.write(b);
                }
            } catch (IOException | RuntimeException e) {
                if (!server.isOpen()) return;
            }
        }
    }

    private static List<ControlEvent> answer(ControlRequest r) {
        MigrationProgress p = new MigrationProgress(600, 256L << 20, 64L << 20, 192L << 20, 0, 32L << 20, 64L << 20, 96L << 20,
                60L << 20, 3);
        MigrationStatus status = new MigrationStatus(ID, "source", "vm1", "hostb:7410", "hybrid", MigrationPhase.PULLING,
                "2026-01-01T00:00:00Z", p, null, null);
        List<ControlEvent> out = new ArrayList<>();
        switch (r.op()) {
            case MIGRATE -> {
                out.add(new ControlEvent.Accepted(ID, "vm1", "hostb:7410", "hybrid"));
                for (MigrationPhase phase : MigrationPhase.values()) {
                    out.add(new ControlEvent.PhaseChange(ID, phase, 100));
                    out.add(new ControlEvent.Progress(ID, phase, p));
                    if (phase == MigrationPhase.COMPLETED) break;
                }
                out.add(new ControlEvent.Report(ID, ControlCodec.tree(p), "migration " + ID + " (hybrid): total 1.00 s\n"));
            }
            case STATUS -> out.add(new ControlEvent.Status(status));
            case LIST -> out.add(new ControlEvent.Listing(List.of(status, status)));
            case CANCEL -> out.add(new ControlEvent.Failure(ID, ErrorKind.NOT_FOUND, "no such migration"));
            default -> out.add(new ControlEvent.Cancelling(ID));
        }
        return out;
    }

    /** Makes the client commands with the warm-up's quiet context. */
    private record ContextFactory(CliContext context) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            if (cls == MigrateCommand.class) return cls.cast(new MigrateCommand(context));
            if (cls == ListCommand.class) return cls.cast(new ListCommand(context));
            if (cls == StatusCommand.class) return cls.cast(new StatusCommand(context));
            if (cls == CancelCommand.class) return cls.cast(new CancelCommand(context));
            return CommandLine.defaultFactory().create(cls);
        }
    }
}
